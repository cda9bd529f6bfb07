"""The simulated support desk: its state, the one way to change a ticket, and generation.

Owns `DeskSpec`, `Desk` and `generate_desk`. Every ticket change goes through
`Desk.update_ticket`, which writes the Zendesk ticket event (with realistic noise), bumps
`updated_at`/`generated_timestamp`, maintains the metric set and records the `Step` that the
ground truth (truth.py) is computed from. What happens when is decided in simulate.py (and
advance.py for `Desk.advance`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox import names
from sandbox.model import JSON, RESOLVED, Group, Rating, Step, Ticket, User, iso, unix
from sandbox.surveys import CsatSurvey, SurveyResponse

SYSTEM_USER = -1


class _Keep:
    """Marks a ticket field an update leaves alone."""


KEEP = _Keep()


@dataclass(frozen=True)
class DeskSpec:
    now: datetime
    seed: int = 7
    agents: int = 25
    groups: int = 5
    customers: int = 900
    tickets: int = 3000
    days: int = 60
    # New CSAT (survey_life.py): the desk switches from legacy ratings to survey responses
    # this many days before `now` (None: never), on a 1..survey_scale scale of numbers or emoji.
    csat_switch_days: float | None = None
    survey_scale: int = 5
    survey_emoji: bool = False

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() != timedelta(0):
            raise ValueError("DeskSpec.now must be a timezone-aware UTC datetime")
        if self.agents < 6 or self.groups < 1 or self.customers < 2 or self.tickets < 1:
            raise ValueError("need at least 6 agents, 1 group, 2 customers and 1 ticket")
        if self.csat_switch_days is not None and self.csat_switch_days <= 0:
            raise ValueError("csat_switch_days must be positive (or None: no switch)")
        if self.survey_scale not in (2, 3, 5):
            raise ValueError("survey_scale must be 2, 3 or 5 (Zendesk's rating scales)")


@dataclass
class Desk:
    """Mutable desk state. Guard reads and writes with `lock` when serving concurrently."""

    spec: DeskSpec
    now: datetime
    users: dict[int, User] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    events: list[JSON] = field(default_factory=list)
    ratings: dict[int, Rating] = field(default_factory=dict)
    survey: CsatSurvey | None = None  # new CSAT, from the switch on (survey_life.py)
    survey_responses: dict[str, SurveyResponse] = field(default_factory=dict)
    scenarios: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    noise: random.Random = field(default_factory=random.Random, repr=False)
    sim: Any = field(default=None, repr=False)  # simulate.Simulation, kept to continue later
    log: list[tuple[str, int]] = field(default_factory=list, repr=False)
    _next_event_id: int = 8_100_000_000_000
    _next_child_id: int = 8_200_000_000_000
    _next_rating_id: int = 7_235_633_102_607
    _version: int = 0  # bumped by every change; lets readers cache sorted views

    # ---- queries -------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self._version

    def agents(self) -> list[User]:
        """Everyone who ever was an agent or admin, by id."""
        return sorted((u for u in self.users.values() if u.is_staff), key=lambda u: u.id)

    def note(self, scenario: str, ticket_id: int = 0) -> None:
        self.scenarios[scenario] = self.scenarios.get(scenario, 0) + 1
        self.log.append((scenario, ticket_id))

    # ---- changes -------------------------------------------------------------------------

    def _ids(self) -> tuple[int, int]:
        self._next_event_id += self.noise.randint(3, 40)
        return self._next_event_id, self._next_child_id

    def _child(self, via: str, body: JSON) -> JSON:
        self._next_child_id += self.noise.randint(1, 9)
        return {"id": self._next_child_id, "via": via, "via_reference_id": None, **body}

    def _id_value(self, value: int | None) -> int | str | None:
        """Ids come as integers or strings, "none" as null or "" (research "Settled since")."""
        if value is None:
            return None if self.noise.random() < 0.5 else ""
        return value if self.noise.random() < 0.5 else str(value)

    def create_ticket(
        self,
        ticket_id: int,
        at: datetime,
        requester_id: int,
        group_id: int,
        assignee_id: int | None,
        subject: str,
        channel: str,
        priority: str | None,
        tags: list[str],
    ) -> Ticket:
        submitter = assignee_id if assignee_id is not None else requester_id
        status = "open" if assignee_id is not None else "new"
        ticket = Ticket(
            id=ticket_id,
            requester_id=requester_id,
            submitter_id=submitter,
            created_at=at,
            subject=subject,
            description=f"{subject}. {self.noise.choice(names.CUSTOMER_LINES)}",
            channel=channel,
            group_id=group_id,
            assignee_id=assignee_id,
            status=status,
            priority=priority,
            ticket_type=self.noise.choice((None, "question", "incident", "problem", "task")),
            tags=list(tags),
            updated_at=at,
            generated_timestamp=unix(at),
        )
        self.tickets[ticket_id] = ticket
        via = {"web": "Web form", "email": "Mail", "api": "Web service", "voice": "Voice"}[channel]
        children = [
            self._child(
                via, {"requester_id": self._id_value(requester_id), "event_type": "Create"}
            ),
            self._child(via, {"subject": subject, "event_type": "Create"}),
            self._child(via, {"status": status, "event_type": "Create"}),
            self._child(via, {"priority": priority, "event_type": "Create"}),
            self._child(via, {"tags": list(tags), "event_type": "Create"}),
            self._child(via, {"group_id": self._id_value(group_id), "event_type": "Create"}),
        ]
        if assignee_id is not None or self.noise.random() < 0.3:
            children.append(
                self._child(
                    via, {"assignee_id": self._id_value(assignee_id), "event_type": "Create"}
                )
            )
        children.append(self._comment_child(via, submitter, ticket.description, True))
        self.noise.shuffle(children)
        m = ticket.metrics
        m.groups.append(group_id)
        if assignee_id is not None:
            m.assignees.append(assignee_id)
            m.initially_assigned_at = m.assigned_at = m.assignee_updated_at = at
        m.requester_updated_at = m.latest_comment_added_at = at
        ticket.history.append(Step(at, None, assignee_id, "new", status))
        self._append_event(ticket, at, submitter, via, children, comment_public=True)
        return ticket

    def _comment_child(self, via: str, author: int, body: str, public: bool) -> JSON:
        return self._child(
            via,
            {
                "event_type": "Comment",
                "type": "Comment",
                "author_id": author,
                "body": body,
                "html_body": f'<div class="zd-comment"><p>{body}</p></div>',
                "public": public,
                "attachments": [],
            },
        )

    def _append_event(
        self,
        ticket: Ticket,
        at: datetime,
        updater: int,
        via: str,
        children: list[JSON],
        comment_public: bool | None,
    ) -> JSON:
        event_id, _ = self._ids()
        event: JSON = {
            "id": event_id,
            "ticket_id": ticket.id,
            "timestamp": unix(at),
            "created_at": iso(at),
            "updater_id": updater,
            "via": via,
            "via_reference_id": None,
            "system": {"client": "Mozilla/5.0", "location": "Lisbon, Portugal", "ip_address": None},
            "event_type": "Audit",
            "merged_ticket_ids": [],
            "comment_present": comment_public is not None,
            "comment_public": bool(comment_public),
            "child_events": children,
        }
        self.events.append(event)
        ticket.updated_at = at
        ticket.generated_timestamp = unix(at)
        self._version += 1
        return event

    def next_time(self, ticket: Ticket, at: datetime) -> datetime:
        """`at`, or a second after the ticket's last update: its events strictly increase."""
        floor = ticket.updated_at + timedelta(seconds=1)
        return (at if at >= floor else floor).replace(microsecond=0)

    def update_ticket(
        self,
        ticket: Ticket,
        at: datetime,
        updater: int,
        *,
        assignee: int | _Keep | None = KEEP,
        group: int | _Keep | None = KEEP,
        status: str | _Keep = KEEP,
        comment: tuple[int, bool, str] | None = None,
        extra: list[JSON] | None = None,
        via: str = "Web form",
    ) -> datetime:
        """Apply one update (one ticket event). Returns the time it was recorded at."""
        at = self.next_time(ticket, at)
        m = ticket.metrics
        children: list[JSON] = []
        owner_before, status_before = ticket.assignee_id, ticket.status
        if not isinstance(assignee, _Keep) and assignee != ticket.assignee_id:
            children.append(
                self._child(
                    via,
                    {
                        "assignee_id": self._id_value(assignee),
                        "previous_value": self._id_value(ticket.assignee_id),
                        "event_type": "Change",
                    },
                )
            )
            ticket.assignee_id = assignee
            m.assignee_updated_at = at
            if assignee is not None:
                if assignee not in m.assignees:
                    m.assignees.append(assignee)
                m.assigned_at = at
                m.initially_assigned_at = m.initially_assigned_at or at
        if not isinstance(group, _Keep) and group != ticket.group_id:
            children.append(
                self._child(
                    via,
                    {
                        "group_id": self._id_value(group),
                        "previous_value": self._id_value(ticket.group_id),
                        "event_type": "Change",
                    },
                )
            )
            ticket.group_id = group
            if group is not None and group not in m.groups:
                m.groups.append(group)
        if not isinstance(status, _Keep) and status != ticket.status:
            children.append(
                self._child(
                    via, {"status": status, "previous_value": ticket.status, "event_type": "Change"}
                )
            )
            self._status_metrics(ticket, at, status)
            ticket.status = status
        if comment is not None:
            author, public, body = comment
            children.append(self._comment_child(via, author, body, public))
            m.latest_comment_added_at = at
            if author == ticket.requester_id:
                m.requester_updated_at = at
            elif public:
                m.replies += 1
                m.first_reply_at = m.first_reply_at or at
        children.extend(extra or [])
        children.extend(self._noise_children(ticket, via))
        self.noise.shuffle(children)
        ticket.history.append(
            Step(at, owner_before, ticket.assignee_id, status_before, ticket.status)
        )
        self._append_event(ticket, at, updater, via, children, comment[1] if comment else None)
        return at

    def _status_metrics(self, ticket: Ticket, at: datetime, status: str) -> None:
        m = ticket.metrics
        m.status_updated_at = at
        if ticket.status == "hold" and m.hold_since is not None:
            m.on_hold_minutes += int((at - m.hold_since).total_seconds() // 60)
            m.hold_since = None
        if status == "hold":
            m.hold_since = at
        was, now_resolved = ticket.status in RESOLVED, status in RESOLVED
        if not was and now_resolved:
            m.solved_at = at
            m.first_solved_at = m.first_solved_at or at
            ticket.resolve_epoch += 1
        elif was and not now_resolved and status != "deleted":
            m.reopens += 1
            ticket.resolve_epoch += 1

    def _noise_children(self, ticket: Ticket, via: str) -> list[JSON]:
        """Children a metrics reader must skip: tags, priority, notifications, unknown types."""
        out: list[JSON] = []
        r = self.noise.random()
        if r < 0.12:
            tag = self.noise.choice(names.TAGS)
            before = list(ticket.tags)
            if tag not in ticket.tags:
                ticket.tags.append(tag)
            out.append(
                self._child(
                    via,
                    {
                        "tags": list(ticket.tags),
                        "added_tags": [tag] if tag not in before else [],
                        "removed_tags": [],
                        "previous_value": before,
                        "event_type": "Change",
                    },
                )
            )
        elif r < 0.2:
            new = self.noise.choice(("low", "normal", "high", "urgent"))
            out.append(
                self._child(
                    via,
                    {"priority": new, "previous_value": ticket.priority, "event_type": "Change"},
                )
            )
            ticket.priority = new
        r = self.noise.random()
        if r < 0.25:
            out.append(
                self._child(
                    via,
                    {
                        "event_type": "Notification",
                        "subject": f"[Ticket #{ticket.id}] update",
                        "body": "Your request was updated.",
                        "recipients": [ticket.requester_id],
                    },
                )
            )
        elif r < 0.3:
            out.append(self._child(via, {"event_type": "AgentMacroReference", "macro_id": 3141}))
        elif r < 0.33:
            out.append(
                self._child(
                    via,
                    {
                        "event_type": "SlaTargetChange",
                        "field_name": "priority",
                        "previous_value": None,
                        "value": {"minutes": 60, "in_business_hours": False},
                    },
                )
            )
        return out

    def rating_child(self, via: str, score: str, previous: str | None) -> JSON:
        return self._child(
            via, {"satisfaction_score": score, "previous_value": previous, "event_type": "Change"}
        )

    def new_rating_id(self) -> int:
        self._next_rating_id += self.noise.randint(1000, 90_000)
        return self._next_rating_id

    def sort_events(self) -> None:
        self.events.sort(key=lambda e: (e["timestamp"], e["id"]))
        self._version += 1

    # ---- mutation and truth ----------------------------------------------------------------

    def advance(self, minutes: int, seed: int) -> dict[str, Any]:
        """Move the clock `minutes` forward and apply a batch of changes inside that interval."""
        from sandbox.advance import advance_desk

        with self.lock:
            return advance_desk(self, minutes, seed)

    def truth(
        self,
        since: date,
        until: date,
        timezone: str = "UTC",
        repeat_window_hours: float = 72,
        transfer_breaks_fcr: bool = False,
        min_sample: int = 30,
        high_water_mark: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Per-agent report rows over local days [since, until) per METRICS.md."""
        from sandbox.truth import report_rows

        with self.lock:
            return report_rows(
                self, since, until, timezone, repeat_window_hours, transfer_breaks_fcr,
                min_sample, high_water_mark,
            )  # fmt: skip

    def truth_facts(
        self,
        timezone: str = "UTC",
        repeat_window_hours: float = 72,
        transfer_breaks_fcr: bool = False,
        high_water_mark: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Per (agent_id or None, local day) counts, as METRICS.md "Additivity" stores them."""
        from sandbox.truth import daily_facts

        with self.lock:
            return daily_facts(
                self, timezone, repeat_window_hours, transfer_breaks_fcr, high_water_mark
            )


def generate_desk(spec: DeskSpec) -> Desk:
    """A desk with `spec.days` of history ending shortly before `spec.now`, same seed same desk."""
    from sandbox.simulate import run_generation

    desk = Desk(spec=spec, now=spec.now.astimezone(UTC).replace(microsecond=0))
    desk.noise.seed(f"noise:{spec.seed}")
    run_generation(desk)
    return desk
