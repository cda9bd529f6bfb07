"""Cursor state: how far each stream has been read, and the source's high-water mark.

One `sync_state` row per (source, stream) holds the stream's cursor, its last success and
its last error; rows named `*<stream>` hold how far a stream has been read completely, and
the row `*` the source-wide high-water mark: the moment up to which every stream is known
complete (docs/metrics.md "Completeness"). Moving that mark changes which resolutions are
FCR-pending, so it marks their days dirty (warehouse/day_marks.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from warehouse.day_marks import DirtyRule, mark_day_range
from warehouse.schema import status_changes, sync_state
from warehouse.text import storable_text
from warehouse.upserts import upsert

SOURCE_ROW = "*"  # sync_state row that holds the source-wide high-water mark
# sync_state rows "*<stream>" hold how far each stream has been read completely.
STREAM_MARK_PREFIX = "*"


@dataclass(frozen=True)
class StreamRead:
    """A stream read completely up to `complete_to`, and the streams whose complete reads
    bound the source's high-water mark (docs/metrics.md
    "Resolution and first-contact resolution (FCR)", "Completeness")."""

    stream: str
    complete_to: datetime
    bounding: tuple[str, ...]


def save_cursor(
    conn: Connection, source: str, stream_key: str, cursor: dict[str, Any], now: datetime
) -> None:
    _save_state(conn, source, stream_key, now, cursor=json.dumps(cursor, sort_keys=True))


def _save_state(
    conn: Connection,
    source: str,
    stream: str,
    now: datetime,
    cursor: str | None = None,
    high_water_mark: datetime | None = None,
) -> None:
    """Write one sync_state row as of a success: its error, if any, is cleared."""
    row = {
        "source": source,
        "stream": stream,
        "cursor": cursor,
        "high_water_mark": high_water_mark,
        "updated_at": now,
        "last_success_at": now,
        "last_error": None,
    }
    upsert(conn, sync_state, [row])


def load_cursor(engine: Engine, source: str, stream_key: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        found = conn.execute(
            select(sync_state.c.cursor).where(
                sync_state.c.source == source, sync_state.c.stream == stream_key
            )
        ).scalar()
    return json.loads(found) if found else None


def load_cursors(engine: Engine, source: str, prefix: str) -> dict[str, dict[str, Any]]:
    """The saved cursors of a source's streams whose key starts with `prefix`."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(sync_state.c.stream, sync_state.c.cursor).where(
                sync_state.c.source == source, sync_state.c.stream.startswith(prefix)
            )
        )
        return {row.stream: json.loads(row.cursor) for row in rows if row.cursor}


def record_success(engine: Engine, source: str, step_key: str) -> None:
    """Note a step of a pass that keeps no cursor of its own (the agent look-up) as done
    now: its last error, if any, is cleared, as a stream's is by a stored page."""
    with engine.begin() as conn:
        _save_state(conn, source, step_key, datetime.now(UTC), cursor=json.dumps({"done": True}))


def record_error(
    engine: Engine,
    source: str,
    stream_key: str,
    message: str,
    cursor: dict[str, Any] | None = None,
) -> None:
    """Note a stream's last error for `status`; its cursor stays as it was unless `cursor`
    is given, and its last success is never moved (status counts failing time from it)."""
    now = datetime.now(UTC)
    message = storable_text(message)  # an error may quote what a hostile server sent
    values: dict[str, Any] = {"last_error": message, "updated_at": now}
    if cursor is not None:
        values["cursor"] = json.dumps(cursor, sort_keys=True)
    with engine.begin() as conn:
        exists = conn.execute(
            select(sync_state.c.stream).where(
                sync_state.c.source == source, sync_state.c.stream == stream_key
            )
        ).first()
        if exists:
            conn.execute(
                sync_state.update()
                .where(sync_state.c.source == source, sync_state.c.stream == stream_key)
                .values(**values)
            )
        else:
            conn.execute(
                sync_state.insert().values(
                    source=source, stream=stream_key, **{"cursor": None, **values}
                )
            )


def high_water_mark(conn: Connection, source: str) -> datetime | None:
    found: datetime | None = conn.execute(
        select(sync_state.c.high_water_mark).where(
            sync_state.c.source == source, sync_state.c.stream == SOURCE_ROW
        )
    ).scalar()
    return found


def stream_marks(conn: Connection, source: str) -> dict[str, datetime]:
    """How far each stream of the source has been read completely, by stream name."""
    rows = conn.execute(
        select(sync_state.c.stream, sync_state.c.high_water_mark).where(
            sync_state.c.source == source,
            sync_state.c.stream.startswith(STREAM_MARK_PREFIX),
            sync_state.c.stream != SOURCE_ROW,
            sync_state.c.high_water_mark.is_not(None),
        )
    )
    return {row.stream[len(STREAM_MARK_PREFIX) :]: row.high_water_mark for row in rows}


def complete_stream(
    conn: Connection, source: str, read: StreamRead, rule: DirtyRule, now: datetime
) -> None:
    """Move the stream's mark forward (never back), then set the source's high-water mark
    to the earliest mark of its bounding streams, once each of them has one: a source
    whose history stream lags its interaction stream is complete only as far as its
    history (docs/metrics.md "Resolution and first-contact resolution (FCR)"; "Completeness")."""
    marks = stream_marks(conn, source)
    old = marks.get(read.stream)
    if old is None or read.complete_to > old:
        row = f"{STREAM_MARK_PREFIX}{read.stream}"
        _save_state(conn, source, row, now, high_water_mark=read.complete_to)
        marks[read.stream] = read.complete_to
    if all(stream in marks for stream in read.bounding):
        set_high_water_mark(conn, source, min(marks[s] for s in read.bounding), rule, now)


def raise_high_water_mark(
    conn: Connection, source: str, mark: datetime, rule: DirtyRule, now: datetime
) -> None:
    """Move the source's high-water mark forward (never back); see `set_high_water_mark`."""
    old = high_water_mark(conn, source)
    if old is None or mark > old:
        set_high_water_mark(conn, source, mark, rule, now)


def set_high_water_mark(
    conn: Connection, source: str, mark: datetime, rule: DirtyRule, now: datetime
) -> None:
    """Set the source's high-water mark and mark the days whose FCR-pending state that
    changes (docs/metrics.md "Resolution and first-contact resolution (FCR)": pending). It
    moves back only where a mark kept by an older deskmetrics (its ticket export alone)
    meets its lagging streams."""
    old = high_water_mark(conn, source)
    if old == mark:
        return
    _save_state(conn, source, SOURCE_ROW, now, high_water_mark=mark)
    if old is None:
        first = conn.execute(
            select(func.min(status_changes.c.at)).where(status_changes.c.source == source)
        ).scalar()
        old = first + rule.repeat_window if first is not None else mark
    start, end = sorted((old, mark))
    mark_day_range(conn, source, start - rule.repeat_window, end - rule.repeat_window, rule)


def known_sources(engine: Engine) -> set[str]:
    """Every source the warehouse holds state of."""
    with engine.connect() as conn:
        return set(conn.execute(select(sync_state.c.source).distinct()).scalars())
