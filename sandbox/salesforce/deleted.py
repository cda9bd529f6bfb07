"""`GET sobjects/Case/deleted/?start=&end=`: the simulator's Get Deleted resource.

Lists the cases deleted in `[start, end]`: those still in the Recycle Bin (`IsDeleted`,
deleted at their `SystemModstamp`) and those purged from it since (`purged`: gone from
every query, queryAll included, as in Salesforce). As Salesforce answers it: `start` must
lie within the last 15 days (`INVALID_REPLICATION_DATE`) and before `end`;
`{deletedRecords: [{id, deletedDate}], earliestDateAvailable, latestDateCovered}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sandbox.salesforce.queries import JSON_TYPE, Answer, error
from sandbox.salesforce.values import Record, sf_datetime

KEPT = timedelta(days=15)


def deleted_cases(
    cases: list[Record], purged: Mapping[str, datetime], params: Mapping[str, list[str]],
    now: datetime,
) -> Answer:  # fmt: skip
    try:
        start, end = (_moment(params[name][0]) for name in ("start", "end"))
    except (KeyError, ValueError):
        return error(400, "MALFORMED_QUERY", "start and end are required ISO 8601 date-times")
    if start < now - KEPT:
        return error(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 15 days ago")
    if end <= start:
        return error(400, "INVALID_REPLICATION_DATE", "endDate must be after startDate")
    deleted = {
        case["Id"]: datetime.fromisoformat(case["SystemModstamp"])
        for case in cases
        if case["IsDeleted"]
    }
    deleted.update(purged)
    listed = [
        {"id": case_id, "deletedDate": sf_datetime(at)}
        for case_id, at in sorted(deleted.items())
        if start <= at <= end
    ]
    body = {
        "deletedRecords": listed,
        "earliestDateAvailable": sf_datetime(now - KEPT),
        "latestDateCovered": sf_datetime(min(end, now)),
    }
    return 200, json.dumps(body).encode(), JSON_TYPE


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if moment.tzinfo is None:
        raise ValueError("a date-time without its zone")
    return moment.astimezone(UTC)
