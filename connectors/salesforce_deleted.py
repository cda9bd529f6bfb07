"""Cases deleted for good: what Salesforce's Get Deleted resource says of a sync's window.

`queryAll` returns a deleted case with `IsDeleted` while it is in the Recycle Bin; once it
is purged (the bin emptied, a hard delete, a bin at its limit, or 15 days) it is returned
no more, and a case stored live would keep counting (docs/metrics.md "Left out"). `GET
sobjects/Case/deleted/?start=&end=` lists the cases deleted in a span of the last 15 days,
purged or not, from its `earliestDateAvailable` on (its log can be purged too;
research/salesforce-api.md "Incremental sync and deletes"):
`{deletedRecords: [{id, deletedDate}], earliestDateAvailable, latestDateCovered}`.
`deleted_span` says what span of a sync's window may be asked; `removed_cases` reads an
answer into `Removed` records. The request is the connector's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from connectors.salesforce_records import parse_time, salesforce_id
from interactions import Removed

log = logging.getLogger(__name__)

# Get Deleted answers for the last 15 days only; a day is left for the clocks.
DELETED_KEPT = timedelta(days=14)


def deleted_span(
    source: str, start: datetime, end: datetime, overlap: timedelta
) -> tuple[datetime, datetime] | None:
    """The span of a sync's window `[start, end]` (an overlap before it, as every pass
    reads) to ask Get Deleted for; None when there is none. A window older than the
    resource keeps is cut, with a warning: a case purged before then may keep counting."""
    low = max(start - overlap, end - DELETED_KEPT)
    if low >= end:
        return None
    if start - overlap < low:
        log.warning(
            "%s: cases deleted before %s can no longer be listed (Salesforce keeps 15 days "
            "of deletions); one purged from the Recycle Bin since it was read may still "
            "count. `deskmetrics reconcile` shows such days; a backfill over them fixes them.",
            source,
            low.isoformat(),
        )
    return low, end


def removed_cases(
    source: str, answer: Mapping[str, Any], asked_from: datetime
) -> tuple[Removed, ...]:
    """The cases an answer of Get Deleted lists (an item without a readable Id or date is
    passed over: it can name no stored case). A log that begins after `asked_from` (purged
    meanwhile) is warned of: the deletions before it are unknown."""
    earliest = _time(answer.get("earliestDateAvailable"))
    if earliest is not None and earliest > asked_from:
        log.warning(
            "%s: Salesforce lists deletions from %s only; a case purged from the Recycle "
            "Bin before then, since it was read, may still count. `deskmetrics reconcile` "
            "shows such days; a backfill over them fixes them.",
            source,
            earliest.isoformat(),
        )
    removed = []
    items = answer.get("deletedRecords")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        case_id = salesforce_id(item.get("id"))
        at = _time(item.get("deletedDate"))
        if case_id is not None and at is not None:
            removed.append(Removed(source, case_id, at))
    return tuple(removed)


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None
