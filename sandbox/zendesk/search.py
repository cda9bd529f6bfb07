"""The search count endpoint: `GET /api/v2/search/count?query=…`, as Zendesk answers it.

Owns `search_count`. It understands the query terms the ticket counts need: `type:ticket`;
`created` and `solved` bounds (`created>=2024-05-06T00:00:00Z created<2024-05-07T00:00:00Z`;
`>`, `<=`, `:` and a plain date, taken as a UTC day, too); and `status` with `:`, `<`, `<=`,
`>`, `>=` over Zendesk's order new < open < pending < hold < solved < closed
(`status>=solved`). `solved` is the ticket's latest solve (its metric set's `solved_at`):
a ticket solved, reopened and solved again is found on the day of its last solve only, and
a ticket reopened since is still found by it unless `status` says otherwise. It answers
`{"count": N}`. As in Zendesk, search reads an index, not the tickets: deleted tickets are
not searched, and a ticket created or solved in the last `INDEX_LAG` is not found by that
moment yet. Any other query term is a 400 with Zendesk's error body, so a connector that
asks for more than this face knows is caught.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sandbox.desk.model import JSON, Ticket
from sandbox.zendesk.params import ApiError, Params, one_param
from sandbox.zendesk.served import Served

# Zendesk's search index trails the tickets by a few minutes (its docs: "may take a few
# minutes"); the sandbox keeps a fixed lag so a test can see it.
INDEX_LAG = timedelta(minutes=10)
_MOMENT = re.compile(r"(created|solved)(>=|<=|>|<|:)(\S+)")
_STATUS = re.compile(r"status(>=|<=|>|<|:)(\w+)")
STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")


def _moment(text: str) -> datetime:
    try:
        if "T" not in text:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise ApiError(400, "InvalidSearchQuery", f"cannot read the time {text!r}") from None


def search_count(sb: Served, params: Params) -> JSON:
    query = one_param(params, "query")
    if not query:
        raise ApiError(400, "InvalidSearchQuery", "query is required")
    bounds: list[tuple[str, str, datetime]] = []
    statuses: list[tuple[str, int]] = []
    typed = False
    for term in query.split():
        moment, status = _MOMENT.fullmatch(term), _STATUS.fullmatch(term)
        if term == "type:ticket":
            typed = True
        elif moment:
            bounds.append((moment[1], moment[2], _moment(moment[3])))
        elif status and status[2] in STATUS_ORDER:
            statuses.append((status[1], STATUS_ORDER.index(status[2])))
        else:
            raise ApiError(400, "InvalidSearchQuery", f"the sandbox cannot search {term!r}")
    if not typed:
        raise ApiError(400, "InvalidSearchQuery", "the sandbox searches type:ticket only")
    indexed_until = sb.desk.now - INDEX_LAG
    count = 0
    for ticket in sb.desk.tickets.values():
        if ticket.deleted or ticket.created_at > indexed_until:
            continue
        rank = STATUS_ORDER.index(ticket.status)
        if not all(_holds(rank, op, bound) for op, bound in statuses):
            continue
        moments = {"created": ticket.created_at, "solved": _solved_at(ticket, indexed_until)}
        if all(
            (at := moments[name]) is not None and _holds_moment(at, op, bound)
            for name, op, bound in bounds
        ):
            count += 1
    return {"count": count}


def _solved_at(ticket: Ticket, indexed_until: datetime) -> datetime | None:
    """The latest solve the index knows of: none for a ticket never solved, or solved too
    recently to be indexed."""
    at = ticket.metrics.solved_at
    return at if at is not None and at <= indexed_until else None


def _holds(value: float, op: str, bound: float) -> bool:
    if op == ">=":
        return value >= bound
    if op == ">":
        return value > bound
    if op == "<=":
        return value <= bound
    if op == "<":
        return value < bound
    return value == bound


def _holds_moment(at: datetime, op: str, bound: datetime) -> bool:
    if op == ":":  # created:DATE, that day in UTC
        return bound <= at < bound + timedelta(days=1)
    return _holds(at.timestamp(), op, bound.timestamp())
