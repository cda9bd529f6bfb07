"""What reading a record's fields is alike for every source: the range of times kept, how a
bad value is shown in a message, and a time field read into a clear error.

Each source's records module (zendesk_records.py, salesforce_records.py) keeps its own
`parse_time` (Zendesk sends unix seconds too) and its own error wording, and reads its
time fields through `time_field`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from interactions import MalformedRecordError

# Times outside these are no time a helpdesk keeps (Zendesk began in 2007, imports can date
# a record earlier): refusing them keeps day and time-zone arithmetic clear of the ends of
# `datetime` (9999-12-31 plus a 72-hour window overflows).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def shown(value: Any) -> str:
    """A bad value as the message shows it: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def in_range(moment: datetime, value: Any) -> datetime:
    """`moment` (read from `value`), or a `ValueError` when it lies outside [EARLIEST, LATEST)."""
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"out of range: {value!r}")
    return moment


def time_field(
    record: Mapping[str, Any],
    field: str,
    required: bool,
    parse: Callable[[Any], datetime | None],
    fail: Callable[[str], MalformedRecordError],
) -> datetime | None:
    """`record[field]` read by `parse`; `fail(problem)` is raised for a value that is no time
    in range, or for a missing one when `required`."""
    value = record.get(field)
    try:
        moment = parse(value)
    except ValueError:
        raise fail(
            f"is not a time between {EARLIEST:%Y} and {LATEST:%Y} ({shown(value)})"
        ) from None
    if moment is None and required:
        raise fail("is missing")
    return moment
