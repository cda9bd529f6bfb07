"""The search count endpoint: `GET /api/v2/search/count?query=…`, as Zendesk answers it.

Owns `search_count`. It understands the query the ticket counts need, `type:ticket` with
`created` bounds (`created>=2024-05-06T00:00:00Z created<2024-05-07T00:00:00Z`; `>`,
`<=` and a plain date too), and answers `{"count": N}`. As in Zendesk, search reads an
index, not the tickets: deleted tickets are not searched, and a ticket created in the last
`INDEX_LAG` is not indexed yet. Any other query term is a 400 with Zendesk's error body,
so a connector that asks for more than this face knows is caught.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sandbox.desk.model import JSON
from sandbox.zendesk.params import ApiError, Params, one_param
from sandbox.zendesk.served import Served

# Zendesk's search index trails the tickets by a few minutes (its docs: "may take a few
# minutes"); the sandbox keeps a fixed lag so a test can see it.
INDEX_LAG = timedelta(minutes=10)
_CREATED = re.compile(r"created(>=|<=|>|<|:)(\S+)")


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
    bounds: list[tuple[str, datetime]] = []
    typed = False
    for term in query.split():
        found = _CREATED.fullmatch(term)
        if term == "type:ticket":
            typed = True
        elif found:
            bounds.append((found[1], _moment(found[2])))
        else:
            raise ApiError(400, "InvalidSearchQuery", f"the sandbox cannot search {term!r}")
    if not typed:
        raise ApiError(400, "InvalidSearchQuery", "the sandbox searches type:ticket only")
    indexed_until = sb.desk.now - INDEX_LAG
    count = 0
    for ticket in sb.desk.tickets.values():
        at = ticket.created_at
        if ticket.deleted or at > indexed_until:
            continue
        if all(_holds(at, op, bound) for op, bound in bounds):
            count += 1
    return {"count": count}


def _holds(at: datetime, op: str, bound: datetime) -> bool:
    if op == ">=":
        return at >= bound
    if op == ">":
        return at > bound
    if op == "<=":
        return at <= bound
    if op == "<":
        return at < bound
    return bound <= at < bound + timedelta(days=1)  # created:DATE, that day in UTC
