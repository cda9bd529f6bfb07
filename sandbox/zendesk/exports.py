"""The incremental exports of the simulated API: the cursor ticket export and ticket events.

Owns their handlers, the export page size and the rules they share: a `start_time` is
required and must be at least a minute old, and changes of the last minute are left out.
Handlers are routed by endpoints.py; pagination details live in pages.py.
"""

from __future__ import annotations

import bisect
from typing import Any

from sandbox.desk.model import JSON, unix
from sandbox.zendesk import pages
from sandbox.zendesk.params import ApiError, Params, int_param, one_param
from sandbox.zendesk.served import Served

PAGE_MAX_EXPORT = 1000


def _cutoff(sb: Served) -> int:
    """Zendesk's exports leave out what changed in the last minute."""
    return unix(sb.desk.now) - 60


def _start_time(sb: Served, params: Params) -> int:
    start = int_param(params, "start_time")
    if start is None:
        raise ApiError(400, "InvalidValue", "start_time is required")
    if start > _cutoff(sb):
        raise ApiError(
            400, "InvalidValue", "Too recent start_time. Use a start_time at least one minute ago"
        )
    return start


def ticket_export(sb: Served, params: Params) -> JSON:
    desk = sb.desk

    def build() -> tuple[list[Any], list[tuple[int, int]]]:
        ordered = sorted(desk.tickets.values(), key=lambda t: (t.generated_timestamp, t.id))
        return ordered, [(t.generated_timestamp, t.id) for t in ordered]

    ordered, keys = sb.cached("tickets", build)
    cursor = one_param(params, "cursor")
    position = pages.read_export_cursor(cursor) if cursor else (_start_time(sb, params), 0)
    per_page = int_param(params, "per_page", PAGE_MAX_EXPORT) or PAGE_MAX_EXPORT
    per_page = max(1, min(per_page, PAGE_MAX_EXPORT))
    end = bisect.bisect_right(keys, (_cutoff(sb), 1 << 62))
    chunk, more = pages.after(ordered[:end], keys[:end], position, per_page)
    include = one_param(params, "include")
    with_metrics = "metric_sets" in (include or "").split(",")
    after_cursor = (
        pages.export_cursor(chunk[-1].generated_timestamp, chunk[-1].id)
        if chunk
        else pages.export_cursor(*position)
    )
    base = sb.base_url
    next_params = {
        "cursor": after_cursor,
        "include": include,
        "per_page": one_param(params, "per_page"),
    }
    return {
        "tickets": [_shown(sb, t.to_json(base, with_metrics)) for t in chunk],
        "after_url": pages.url(base, "/api/v2/incremental/tickets/cursor.json", next_params),
        "before_url": None,
        "after_cursor": after_cursor,
        "before_cursor": None,
        "end_of_stream": not more,
    }


def _shown(sb: Served, ticket: JSON) -> JSON:
    """The ticket as the export shows it: with the status `sb.shown_status` names for it
    (an integration's value, a proxy's rewrite), if any; its events keep the real one."""
    status = sb.shown_status.get(ticket["id"])
    return ticket if status is None else {**ticket, "status": status}


def event_export(sb: Served, params: Params) -> JSON:
    desk = sb.desk
    start = _start_time(sb, params)
    stamps: list[int] = sb.cached("event_stamps", lambda: [e["timestamp"] for e in desk.events])
    end = bisect.bisect_right(stamps, _cutoff(sb))
    events = desk.events[:end]
    page, last = pages.time_page(
        events, stamps[:end], start, PAGE_MAX_EXPORT, lambda e: e["timestamp"]
    )
    end_time = page[-1]["timestamp"] if page else start
    include = one_param(params, "include")
    next_page = pages.url(
        sb.base_url,
        "/api/v2/incremental/ticket_events.json",
        {"start_time": end_time, "include": include},
    )
    return {
        "ticket_events": page,
        "next_page": next_page,
        "count": len(page),
        "end_time": end_time,
        "end_of_stream": last,
    }
