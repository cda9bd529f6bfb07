"""The endpoints of the simulated API: handlers, routing table and dispatch of a request.

Owns the cursor-paginated lists (satisfaction ratings, users, groups), the single-record
endpoints (users, show_many, tickets), the table routing paths to handlers (the incremental
exports come from exports.py, the survey endpoints of new CSAT from survey_api.py) and
`respond`, which turns a handler's result or error into
a status and body. Authentication, headers and faults stay with `ZendeskSandbox`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.desk.model import JSON, unix
from sandbox.zendesk import pages
from sandbox.zendesk.exports import event_export, ticket_export
from sandbox.zendesk.params import ApiError, Params, int_param, one_param
from sandbox.zendesk.search import search_count
from sandbox.zendesk.served import Served
from sandbox.zendesk.survey_api import survey, survey_responses, surveys

PAGE_MAX_CBP = 100
RATING_SCORES: dict[str, Callable[[str, str | None], bool]] = {
    "offered": lambda s, c: s == "offered",
    "unoffered": lambda s, c: s == "unoffered",
    "received": lambda s, c: s in ("good", "bad"),
    "received_with_comment": lambda s, c: s in ("good", "bad") and bool(c),
    "received_without_comment": lambda s, c: s in ("good", "bad") and not c,
    "good": lambda s, c: s == "good",
    "good_with_comment": lambda s, c: s == "good" and bool(c),
    "good_without_comment": lambda s, c: s == "good" and not c,
    "bad": lambda s, c: s == "bad",
    "bad_with_comment": lambda s, c: s == "bad" and bool(c),
    "bad_without_comment": lambda s, c: s == "bad" and not c,
}


def _cbp_page(
    sb: Served,
    params: Params,
    path: str,
    key: str,
    items: list[Any],
    item_key: Callable[[Any], tuple[int, ...]],
    render: Callable[[Any], JSON],
    keep: dict[str, Any],
) -> JSON:
    size = int_param(params, "page[size]", PAGE_MAX_CBP) or PAGE_MAX_CBP
    if size > PAGE_MAX_CBP or size < 1:
        raise ApiError(
            400, "InvalidPaginationParameter", f"page[size] must be between 1 and {PAGE_MAX_CBP}"
        )
    if one_param(params, "page[before]"):
        raise ApiError(400, "InvalidPaginationParameter", "page[before] is not supported here")
    keys = [item_key(i) for i in items]
    after_cursor = one_param(params, "page[after]")
    position: tuple[int, ...] = (
        pages.read_cbp_cursor(after_cursor) if after_cursor else (-(1 << 62),)
    )
    chunk, more = pages.after(items, keys, position, size)
    first = pages.cbp_cursor(item_key(chunk[0])) if chunk else None
    last = pages.cbp_cursor(item_key(chunk[-1])) if chunk else None
    base = sb.base_url
    return {
        key: [render(i) for i in chunk],
        "meta": {"has_more": more, "after_cursor": last, "before_cursor": first},
        "links": {
            "prev": pages.url(base, path, {**keep, "page[before]": first, "page[size]": size})
            if first
            else None,
            "next": pages.url(base, path, {**keep, "page[after]": last, "page[size]": size})
            if last
            else None,
        },
    }


def _ratings(sb: Served, params: Params, path: str) -> JSON:
    start = int_param(params, "start_time")
    end = int_param(params, "end_time")
    score = one_param(params, "score")
    if score is not None and score not in RATING_SCORES:
        raise ApiError(400, "InvalidValue", f"unknown score {score!r}")
    order = one_param(params, "sort_order") or "asc"
    if order not in ("asc", "desc"):
        raise ApiError(400, "InvalidValue", "sort_order must be asc or desc")
    sign = 1 if order == "asc" else -1
    chosen = [
        r
        for r in sb.desk.ratings.values()
        if (start is None or unix(r.record_created_at) >= start)
        and (end is None or unix(r.record_created_at) < end)
        and (score is None or RATING_SCORES[score](r.score, r.comment))
    ]

    def key(r: Any) -> tuple[int, ...]:
        return (sign * unix(r.record_created_at), sign * r.id)

    chosen.sort(key=key)
    keep = {
        "start_time": start,
        "end_time": end,
        "score": score,
        "sort_order": one_param(params, "sort_order"),
    }
    base = sb.base_url
    return _cbp_page(
        sb, params, path, "satisfaction_ratings", chosen, key, lambda r: r.to_json(base), keep
    )


def _users(sb: Served, params: Params) -> JSON:
    roles = set(params.get("role[]", []) + params.get("role", []))
    chosen = sorted(
        (u for u in sb.desk.users.values() if not u.erased and (not roles or u.role in roles)),
        key=lambda u: u.id,
    )
    keep: dict[str, Any] = {}
    if roles:
        keep["role[]"] = sorted(roles)[0] if len(roles) == 1 else None
    base = sb.base_url
    page = _cbp_page(
        sb,
        params,
        "/api/v2/users.json",
        "users",
        chosen,
        lambda u: (u.id,),
        lambda u: u.to_json(base),
        keep,
    )
    if len(roles) > 1:  # links keep every role[] parameter
        suffix = "".join(f"&role%5B%5D={r}" for r in sorted(roles))
        for name in ("next", "prev"):
            if page["links"][name]:
                page["links"][name] += suffix
    return page


def _show_many(sb: Served, params: Params) -> JSON:
    raw = ",".join(params.get("ids", []))
    try:
        ids = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ApiError(400, "InvalidValue", "ids must be integers") from None
    if len(ids) > 100:
        raise ApiError(400, "InvalidValue", "at most 100 ids")
    base = sb.base_url
    answered = [sb.desk.users[i] for i in ids if i in sb.desk.users]
    users = [u.to_json(base) for u in answered if not u.erased]
    return {"users": users, "next_page": None, "previous_page": None, "count": len(users)}


def _me(sb: Served, params: Params) -> JSON:
    """The authenticated user: the sandbox's admin (its e-mail and token are the login)."""
    return {"user": {"id": 1, "name": "Sandbox Admin", "email": sb.email, "role": "admin"}}


def _user(sb: Served, params: Params, user_id: str) -> JSON:
    user = sb.desk.users.get(int(user_id))
    if user is None or user.erased:
        raise ApiError(404, "RecordNotFound", "Not found")
    return {"user": user.to_json(sb.base_url)}


def _ticket(sb: Served, params: Params, ticket_id: str) -> JSON:
    ticket = sb.desk.tickets.get(int(ticket_id))
    if ticket is None or ticket.deleted:
        raise ApiError(404, "RecordNotFound", "Not found")
    return {"ticket": ticket.to_json(sb.base_url)}


def _groups(sb: Served, params: Params) -> JSON:
    groups = sorted(sb.desk.groups.values(), key=lambda g: g.id)
    base = sb.base_url
    return _cbp_page(
        sb,
        params,
        "/api/v2/groups.json",
        "groups",
        groups,
        lambda g: (g.id,),
        lambda g: g.to_json(base),
        {},
    )


Handler = Callable[..., JSON]
_LOCALE = r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*"
_ROUTES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(r"/api/v2/incremental/tickets/cursor\.json"), ticket_export),
    (re.compile(r"/api/v2/incremental/ticket_events\.json"), event_export),
    (
        re.compile(r"(/api/v2/satisfaction_ratings(?:\.json)?)"),
        _ratings,
    ),
    (re.compile(r"/api/v2/users(?:\.json)?"), _users),
    (re.compile(r"/api/v2/users/show_many(?:\.json)?"), _show_many),
    (re.compile(r"/api/v2/users/me(?:\.json)?"), _me),
    (re.compile(r"/api/v2/users/(\d+)(?:\.json)?"), _user),
    (re.compile(r"/api/v2/tickets/(\d+)(?:\.json)?"), _ticket),
    (re.compile(r"/api/v2/groups(?:\.json)?"), _groups),
    (re.compile(r"/api/v2/search/count(?:\.json)?"), search_count),
    (re.compile(r"/api/v2/guide/survey_responses"), survey_responses),
    (re.compile(rf"/api/v2/guide/({_LOCALE})/surveys"), surveys),
    (re.compile(rf"/api/v2/guide/({_LOCALE})/surveys/([0-9A-Z]{{26}})/(\d+)"), survey),
]


def _route(path: str) -> tuple[Handler, tuple[str, ...]] | None:
    for pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return handler, match.groups()
    return None


def respond(sb: Served, method: str, path: str, params: Params) -> tuple[int, Any, dict[str, str]]:
    """Route an authenticated request and run its handler under the desk lock."""
    route = _route(path)
    if route is None or method != "GET":
        return 404, {"error": "InvalidEndpoint", "description": "Not found"}, {}
    handler, args = route
    try:
        if handler in (ticket_export, event_export) and sb.over_export_limit():
            retry = str(max(1, 60 - sb.desk.now.second))
            return (
                429,
                {"error": "TooManyRequests", "description": "Export limit"},
                {"Retry-After": retry},
            )
        with sb.desk.lock:
            return 200, handler(sb, params, *args), {}
    except ApiError as exc:
        return exc.status, exc.body, {}
    except pages.BadCursor:
        return 400, {"error": "InvalidPaginationParameter", "description": "Invalid cursor"}, {}
