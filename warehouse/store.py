"""Writing: idempotent upserts of model records, each page committed with its cursor.

`store_page` is the only way a connector page reaches the database: in ONE transaction it
upserts the page's records by natural key, saves the stream's cursor, moves the source's
high-water mark, and marks dirty the days whose facts the page may change (DESIGN.md
"Data flow", steps 2 and 3). A crash loses at most the page in flight; a page read twice
changes nothing; an older copy of a record never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from warehouse.cursors import StreamRead, complete_stream, raise_high_water_mark, save_cursor
from warehouse.day_marks import DirtyRule, mark_interactions_dirty, stored_before
from warehouse.upserts import store_records


def store_page(
    engine: Engine,
    source: str,
    stream_key: str,
    records: Sequence[Any],
    cursor: dict[str, Any],
    rule: DirtyRule,
    high_water_mark: datetime | None = None,
    now: datetime | None = None,
    read: StreamRead | None = None,
) -> None:
    """Records, cursor, high-water mark and dirty days of one page, in one transaction.

    `read` is given with the last page of a stream read to its end: the stream's own mark
    moves to it, and the source's high-water mark to the earliest of its streams' marks.
    `high_water_mark` raises the source's mark directly: a moment up to which every stream
    is known complete (a test's or a benchmark's desk)."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        # Read before the upsert what the page may move away from: the days it leaves
        # must be scored again too.
        before = stored_before(conn, source, records)
        touched = store_records(conn, records, now)
        mark_interactions_dirty(conn, source, touched, rule, before)
        save_cursor(conn, source, stream_key, cursor, now)
        if read is not None:
            complete_stream(conn, source, read, rule, now)
        if high_water_mark is not None:
            raise_high_water_mark(conn, source, high_water_mark, rule, now)
