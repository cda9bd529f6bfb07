"""A generated desk seen through Salesforce's face: its records as Service Cloud objects.

Owns `salesforce_face(desk) -> Face`: `User` (staff), `Group` (queues, one per desk group),
`Contact` (customers with a ticket that came other than through Web-to-Case; see
`contact_since`), `Case` (one per ticket; a ticket in no one's hands is owned by its group's
queue), `CaseHistory` (an owner change writes a name row and an id row, both with `Field`
`Owner`, `ownerAssignment`, `ownerAccepted` or `ownerEscalated` (owner_field); status changes
are `Status` rows; creation writes one `created` row and no owner or status row),
`CaseStatus`, and CSAT as the custom object `Case_Survey__c` (1..5). Ids are derived from the
desk's ids (ids.py), so the same desk gives the same records. Reads the desk; changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.desk import Desk
from sandbox.desk.model import Ticket
from sandbox.salesforce import ids
from sandbox.salesforce.feedback import feedback_records
from sandbox.salesforce.ids import case_id, queue_id, user_id
from sandbox.salesforce.surveys import survey_records
from sandbox.salesforce.values import Record, sf_datetime, stamps

# Zendesk status -> the Case status label shown for it; which labels are closed is CaseStatus.
STATUS_LABELS = {
    "new": "New",
    "open": "Working",
    "pending": "Waiting on Customer",
    "hold": "On Hold",
    "solved": "Resolved",
    "closed": "Closed",
}
CLOSED_LABELS = frozenset({"Resolved", "Closed"})
WEB_CHANNEL = "web"  # Web-to-Case: the case carries the form's SuppliedEmail


@dataclass(frozen=True)
class Face:
    """Every object's records, by object name, each list in Id order."""

    objects: dict[str, list[Record]]


def salesforce_face(
    desk: Desk, surveys_at_send: bool = False, score_history: bool = False, survey_versions: int = 1
) -> Face:
    """The desk as an org. `surveys_at_send`: the CSAT object's records are written when the
    survey is sent (surveys.py); `score_history`: the org tracks `Score__c`'s history, so
    `Case_Survey__History` is an object of the org; `survey_versions`: of the Feedback
    Management survey (feedback.py)."""
    with desk.lock:
        users = [_user(u.id, u.name, u.email, u.active, u.created_at) for u in _staff(desk)]
        queues = [_queue(g.id, g.name, g.created_at) for g in desk.groups.values()]
        since = contact_since(desk)
        contacts = [_contact(u.id, u.name, u.email, u.created_at) for u in _contacts(desk, since)]
        cases: list[Record] = []
        history: list[Record] = []
        for ticket in desk.tickets.values():
            email = desk.users[ticket.requester_id].email
            cases.append(_case(ticket, email, since.get(ticket.requester_id)))
            history.extend(_case_history(ticket, desk))
        surveys, survey_history = survey_records(desk, surveys_at_send)
    objects = {
        "User": users,
        "Group": queues,
        "Contact": contacts,
        "Case": cases,
        "CaseHistory": history,
        "CaseStatus": _case_statuses(),
        "Case_Survey__c": surveys,
        **feedback_records(desk, survey_versions),
    }
    if score_history:
        objects["Case_Survey__History"] = survey_history
    return Face({name: sorted(rows, key=lambda r: r["Id"]) for name, rows in objects.items()})


def _staff(desk: Desk) -> list[Any]:
    return [u for u in desk.users.values() if u.is_staff and u.id >= 0]


def contact_since(desk: Desk) -> dict[int, datetime]:
    """Each customer who is a `Contact`, and since when: their first ticket that came other
    than through Web-to-Case (a customer with no ticket at all: since they were created).

    As in Salesforce, Web-to-Case makes no Contact: a customer all of whose tickets came
    through the web form has none, and their cases carry only `SuppliedEmail`. The web cases
    of a customer who is a Contact carry its `ContactId` too (Web-to-Case matched the
    address), so one person is one customer to a reader using ContactId, else SuppliedEmail.
    """
    first: dict[int, datetime] = {}
    wrote_on_the_web: set[int] = set()
    for ticket in desk.tickets.values():
        who = ticket.requester_id
        if ticket.channel == WEB_CHANNEL:
            wrote_on_the_web.add(who)
        elif who not in first or ticket.created_at < first[who]:
            first[who] = ticket.created_at
    for user in desk.users.values():
        if not user.is_staff and user.id not in wrote_on_the_web:
            first.setdefault(user.id, user.created_at)
    return first


def _contacts(desk: Desk, since: dict[int, datetime]) -> list[Any]:
    return [u for u in desk.users.values() if not u.is_staff and u.id in since]


def _user(number: int, name: str, email: str, active: bool, created: datetime) -> Record:
    return {
        "Id": user_id(number),
        "Name": name,
        "Email": email,
        "Username": email,
        "IsActive": active,
        **stamps(created, created),
    }


def _queue(number: int, name: str, created: datetime) -> Record:
    return {"Id": queue_id(number), "Name": name, "Type": "Queue", **stamps(created, created)}


def _contact(number: int, name: str, email: str, created: datetime) -> Record:
    return {
        "Id": ids.contact_id(number),
        "Name": name,
        "Email": email,
        "IsDeleted": False,
        **stamps(created, created),
    }


def owner_of(owner: int | None, group_id: int | None) -> str:
    """A case's OwnerId: the user, else the queue of its group (desk group 0 if none)."""
    return user_id(owner) if owner is not None else queue_id(group_id or 0)


def case_status(ticket: Ticket) -> str:
    """The Case status label; a deleted case keeps the status it had before deletion."""
    status = ticket.status
    if status == "deleted":
        kept = [s.status_before for s in ticket.history if s.status_after == "deleted"]
        status = kept[-1] if kept else "open"
    return STATUS_LABELS[status]


def _case(ticket: Ticket, email: str, contact_from: datetime | None) -> Record:
    status = case_status(ticket)
    closed = status in CLOSED_LABELS
    closed_at = None
    if closed:
        labels = [(s.at, STATUS_LABELS.get(s.status_after)) for s in ticket.history]
        closed_at = next((at for at, label in reversed(labels) if label == status), None)
    web = ticket.channel == WEB_CHANNEL
    modified = ticket.updated_at
    if web and contact_from is not None and contact_from > ticket.created_at:
        # The customer became a Contact after this web case: linking the case to it is a
        # change of the case, which an incremental reader must see.
        modified = max(modified, contact_from)
    return {
        "Id": case_id(ticket.id),
        "CaseNumber": f"{ticket.id:08d}",
        "OwnerId": owner_of(ticket.assignee_id, ticket.group_id),
        "Status": status,
        "IsClosed": closed,
        "IsDeleted": ticket.deleted,
        "ContactId": None if contact_from is None else ids.contact_id(ticket.requester_id),
        "SuppliedEmail": email if web else None,
        "Origin": "Web" if web else "Email",
        "Subject": ticket.subject,
        "ClosedDate": sf_datetime(closed_at) if closed_at else None,
        **stamps(ticket.created_at, modified),
    }


def _owner_name(desk: Desk, owner: str, owner_number: int | None, group_id: int | None) -> str:
    if owner_number is not None:
        return desk.users[owner_number].name
    group = desk.groups.get(group_id or 0)
    return group.name if group else "Unassigned"


def _case_history(ticket: Ticket, desk: Desk) -> list[Record]:
    """History rows of one case; row k of step i gets desk number ticket*1000 + i*4 + k."""
    rows: list[Record] = []

    def row(step: int, k: int, at: datetime, field: str, old: Any, new: Any) -> None:
        rows.append(
            {
                "Id": ids.sf_id(ids.CASE_HISTORY, ticket.id * 1000 + step * 4 + k),
                "CaseId": case_id(ticket.id),
                "Field": field,
                "DataType": "EntityId" if k == 1 else "Text",
                "OldValue": old,
                "NewValue": new,
                # Deleted with its case (and restored with it): only queryAll sees it then.
                "IsDeleted": ticket.deleted,
                "CreatedDate": sf_datetime(at),
            }
        )

    for index, step in enumerate(ticket.history[:249]):
        if index == 0:
            row(0, 0, step.at, "created", None, None)
            continue
        if step.owner_before != step.owner_after:
            old = owner_of(step.owner_before, ticket.group_id)
            new = owner_of(step.owner_after, ticket.group_id)
            old_name = _owner_name(desk, old, step.owner_before, ticket.group_id)
            new_name = _owner_name(desk, new, step.owner_after, ticket.group_id)
            if old != new:
                field = owner_field(ticket.id, index, old, new)
                row(index, 0, step.at, field, old_name, new_name)
                row(index, 1, step.at, field, old, new)
        before = STATUS_LABELS.get(step.status_before)
        after = STATUS_LABELS.get(step.status_after)
        if before != after and before is not None and after is not None:
            row(index, 2, step.at, "Status", before, after)
    return rows


def owner_field(ticket_id: int, step: int, old: str, new: str) -> str:
    """The `Field` of the rows of an owner change (step `step` of the ticket's history):
    `ownerAccepted` when a user takes a case from a queue, `ownerAssignment` for every third
    case's other changes (as assignment rules and Omni-Channel write them), `ownerEscalated`
    for every fourth other change (an escalation rule's reassignment, to a user or a queue),
    else `Owner`."""
    if old.startswith(ids.QUEUE) and new.startswith(ids.USER):
        return "ownerAccepted"
    if ticket_id % 3 == 0:
        return "ownerAssignment"
    return "ownerEscalated" if (ticket_id + step) % 4 == 0 else "Owner"


def _case_statuses() -> list[Record]:
    return [
        {
            "Id": ids.sf_id("01J", number),
            "MasterLabel": label,
            "ApiName": label,
            "IsClosed": label in CLOSED_LABELS,
            "IsDefault": label == "New",
            "SortOrder": number,
        }
        for number, label in enumerate(STATUS_LABELS.values(), start=1)
    ]
