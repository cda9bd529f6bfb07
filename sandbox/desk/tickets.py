"""The one way to change a ticket of the desk: `create_ticket` and `update_ticket`.

Each writes the Zendesk ticket event (child events in a shuffled order, ids as integers or
strings, and noise a metrics reader must skip: tags, priority, notifications), bumps
`updated_at`/`generated_timestamp`, maintains the metric set and records the `Step` (owner
and status before and after) that the ground truth (truth.py) is computed from. Every
random draw comes from the desk's `noise`, in a fixed order, so a seed makes the same desk.
"""

from __future__ import annotations

from datetime import datetime

from sandbox.desk import names
from sandbox.desk.model import JSON, RESOLVED, Step, Ticket, iso, unix
from sandbox.desk.state import Desk

SYSTEM_USER = -1  # the updater of automatic changes (triggers, automations)


class _Keep:
    """Marks a ticket field an update leaves alone."""


KEEP = _Keep()


def create_ticket(
    desk: Desk,
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
    """A new ticket and its creation event: open when created assigned, else new."""
    submitter = assignee_id if assignee_id is not None else requester_id
    status = "open" if assignee_id is not None else "new"
    ticket = Ticket(
        id=ticket_id,
        requester_id=requester_id,
        submitter_id=submitter,
        created_at=at,
        subject=subject,
        description=f"{subject}. {desk.noise.choice(names.CUSTOMER_LINES)}",
        channel=channel,
        group_id=group_id,
        assignee_id=assignee_id,
        status=status,
        priority=priority,
        ticket_type=desk.noise.choice((None, "question", "incident", "problem", "task")),
        tags=list(tags),
        updated_at=at,
        generated_timestamp=unix(at),
    )
    desk.tickets[ticket_id] = ticket
    via = {"web": "Web form", "email": "Mail", "api": "Web service", "voice": "Voice"}[channel]
    children = [
        desk.child_event(
            via, {"requester_id": desk.id_value(requester_id), "event_type": "Create"}
        ),
        desk.child_event(via, {"subject": subject, "event_type": "Create"}),
        desk.child_event(via, {"status": status, "event_type": "Create"}),
        desk.child_event(via, {"priority": priority, "event_type": "Create"}),
        desk.child_event(via, {"tags": list(tags), "event_type": "Create"}),
        desk.child_event(via, {"group_id": desk.id_value(group_id), "event_type": "Create"}),
    ]
    if assignee_id is not None or desk.noise.random() < 0.3:
        children.append(
            desk.child_event(
                via, {"assignee_id": desk.id_value(assignee_id), "event_type": "Create"}
            )
        )
    children.append(_comment_child(desk, via, submitter, ticket.description, True))
    desk.noise.shuffle(children)
    m = ticket.metrics
    m.groups.append(group_id)
    if assignee_id is not None:
        m.assignees.append(assignee_id)
        m.initially_assigned_at = m.assigned_at = m.assignee_updated_at = at
    m.requester_updated_at = m.latest_comment_added_at = at
    ticket.history.append(Step(at, None, assignee_id, "new", status))
    _append_event(desk, ticket, at, submitter, via, children, comment_public=True)
    return ticket


def _comment_child(desk: Desk, via: str, author: int, body: str, public: bool) -> JSON:
    return desk.child_event(
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
    desk: Desk,
    ticket: Ticket,
    at: datetime,
    updater: int,
    via: str,
    children: list[JSON],
    comment_public: bool | None,
) -> JSON:
    event_id = desk.new_event_id()
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
    desk.events.append(event)
    ticket.updated_at = at
    ticket.generated_timestamp = unix(at)
    desk.changed()
    return event


def update_ticket(
    desk: Desk,
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
    at = desk.next_time(ticket, at)
    m = ticket.metrics
    children: list[JSON] = []
    owner_before, status_before = ticket.assignee_id, ticket.status
    if not isinstance(assignee, _Keep) and assignee != ticket.assignee_id:
        children.append(
            desk.child_event(
                via,
                {
                    "assignee_id": desk.id_value(assignee),
                    "previous_value": desk.id_value(ticket.assignee_id),
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
            desk.child_event(
                via,
                {
                    "group_id": desk.id_value(group),
                    "previous_value": desk.id_value(ticket.group_id),
                    "event_type": "Change",
                },
            )
        )
        ticket.group_id = group
        if group is not None and group not in m.groups:
            m.groups.append(group)
    if not isinstance(status, _Keep) and status != ticket.status:
        children.append(
            desk.child_event(
                via, {"status": status, "previous_value": ticket.status, "event_type": "Change"}
            )
        )
        _status_metrics(ticket, at, status)
        ticket.status = status
    if comment is not None:
        author, public, body = comment
        children.append(_comment_child(desk, via, author, body, public))
        m.latest_comment_added_at = at
        if author == ticket.requester_id:
            m.requester_updated_at = at
        elif public:
            m.replies += 1
            m.first_reply_at = m.first_reply_at or at
    children.extend(extra or [])
    children.extend(_noise_children(desk, ticket, via))
    desk.noise.shuffle(children)
    ticket.history.append(Step(at, owner_before, ticket.assignee_id, status_before, ticket.status))
    _append_event(desk, ticket, at, updater, via, children, comment[1] if comment else None)
    return at


def _status_metrics(ticket: Ticket, at: datetime, status: str) -> None:
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


def _noise_children(desk: Desk, ticket: Ticket, via: str) -> list[JSON]:
    """Children a metrics reader must skip: tags, priority, notifications, unknown types."""
    out: list[JSON] = []
    r = desk.noise.random()
    if r < 0.12:
        tag = desk.noise.choice(names.TAGS)
        before = list(ticket.tags)
        if tag not in ticket.tags:
            ticket.tags.append(tag)
        out.append(
            desk.child_event(
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
        new = desk.noise.choice(("low", "normal", "high", "urgent"))
        out.append(
            desk.child_event(
                via,
                {"priority": new, "previous_value": ticket.priority, "event_type": "Change"},
            )
        )
        ticket.priority = new
    r = desk.noise.random()
    if r < 0.25:
        out.append(
            desk.child_event(
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
        out.append(desk.child_event(via, {"event_type": "AgentMacroReference", "macro_id": 3141}))
    elif r < 0.33:
        out.append(
            desk.child_event(
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
