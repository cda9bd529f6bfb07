"""The state of the simulated support desk: what it was generated from and what it holds.

Owns `DeskSpec` (the seed and sizes a desk is generated from) and `Desk`, the record of one
desk: its clock, people, groups, tickets (each with the `Step`s the ground truth reads),
ticket events in Zendesk's shape, legacy ratings, survey responses and the scenarios the
simulation noted, plus the id counters and the noise generator its changes draw from. How a
ticket changes is tickets.py; what happens when is simulate.py and advance.py; the truth is
truth.py. Nothing here calls back into them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.desk.model import JSON, Group, Rating, Ticket, User
from sandbox.desk.names import SHARED_STAFF
from sandbox.desk.surveys import CsatSurvey, SurveyResponse

# The first agents of a desk are its admins: they solve tickets nobody owns and delete spam,
# and own no ticket. The shared people (`DeskSpec.shared_staff`) come after them.
ADMINS = 2


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
    # The first this many agents after the admins (who own no ticket) are the people of
    # names.SHARED_STAFF, the same in every desk that shares staff, so `report --by person`
    # joins them; the desk's own people then have addresses of the desk's own (simulate.py
    # `_agent_email`). Drawn beside the desk's random sequence: the rest of the desk is that
    # of the same spec without shared staff.
    shared_staff: int = 0

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() != timedelta(0):
            raise ValueError("DeskSpec.now must be a timezone-aware UTC datetime")
        if self.agents < 6 or self.groups < 1 or self.customers < 2 or self.tickets < 1:
            raise ValueError("need at least 6 agents, 1 group, 2 customers and 1 ticket")
        if self.csat_switch_days is not None and self.csat_switch_days <= 0:
            raise ValueError("csat_switch_days must be positive (or None: no switch)")
        if self.survey_scale not in (2, 3, 5):
            raise ValueError("survey_scale must be 2, 3 or 5 (Zendesk's rating scales)")
        most = min(self.agents - ADMINS, len(SHARED_STAFF))
        if not 0 <= self.shared_staff <= most:
            raise ValueError(
                f"shared_staff must be 0..{most}: at most the desk's agents but its "
                f"{ADMINS} admins, and the {len(SHARED_STAFF)} people of names.SHARED_STAFF"
            )


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
    # The simulate.Simulation that made the desk, kept so advance.py continues its life.
    sim: Any = field(default=None, repr=False)
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

    def next_time(self, ticket: Ticket, at: datetime) -> datetime:
        """`at`, or a second after the ticket's last update: its events strictly increase."""
        floor = ticket.updated_at + timedelta(seconds=1)
        return (at if at >= floor else floor).replace(microsecond=0)

    # ---- ids and event parts, drawn from the desk's noise ----------------------------------

    def new_event_id(self) -> int:
        self._next_event_id += self.noise.randint(3, 40)
        return self._next_event_id

    def child_event(self, via: str, body: JSON) -> JSON:
        """One child event of a ticket event, with its own id."""
        self._next_child_id += self.noise.randint(1, 9)
        return {"id": self._next_child_id, "via": via, "via_reference_id": None, **body}

    def id_value(self, value: int | None) -> int | str | None:
        """Ids come as integers or strings, "none" as null or "" (research "Settled since")."""
        if value is None:
            return None if self.noise.random() < 0.5 else ""
        return value if self.noise.random() < 0.5 else str(value)

    def rating_child(self, via: str, score: str, previous: str | None) -> JSON:
        return self.child_event(
            via, {"satisfaction_score": score, "previous_value": previous, "event_type": "Change"}
        )

    def new_rating_id(self) -> int:
        self._next_rating_id += self.noise.randint(1000, 90_000)
        return self._next_rating_id

    def sort_events(self) -> None:
        self.events.sort(key=lambda e: (e["timestamp"], e["id"]))
        self.changed()

    def changed(self) -> None:
        """Count a change, so readers rebuild what they cached of the desk."""
        self._version += 1
