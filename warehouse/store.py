"""Writing: idempotent upserts of model records, each page committed with its cursor.

`store_page` is the only way a connector page reaches the database: in ONE transaction it
upserts the page's records by natural key, saves the stream's cursor, moves the source's
high-water mark, and marks dirty the days whose facts the page may change (DESIGN.md
"Data flow", steps 2 and 3). A crash loses at most the page in flight; a page read twice
changes nothing; an older copy of a record never overwrites a newer one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from interactions import (
    Agent,
    Interaction,
    OwnershipChange,
    Quarantined,
    Rating,
    RatingState,
    SatisfactionChange,
    StatusChange,
)
from warehouse.quarantine import quarantine_rows
from warehouse.ratings import merged_rating, rating_corrected_by_state, stored_ratings
from warehouse.schema import (
    COUNTED_MOMENTS,
    agents,
    dirty_days,
    interactions,
    ownership_changes,
    quarantine,
    ratings,
    satisfaction_changes,
    status_changes,
    sync_state,
)
from warehouse.text import storable_row, storable_text

BATCH = 500
SOURCE_ROW = "*"  # sync_state row that holds the source-wide high-water mark
# sync_state rows "*<stream>" hold how far each stream has been read completely.
STREAM_MARK_PREFIX = "*"


@dataclass(frozen=True)
class DirtyRule:
    """What marking days needs to know: the day boundary and the FCR repeat window."""

    timezone: str
    repeat_window: timedelta


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert(
    conn: Connection,
    table: Any,
    rows: Sequence[dict[str, Any]],
    newer: Callable[[Any], ColumnElement[bool]] | None = None,
    keep_earliest: str | None = None,
    storable: bool = False,
) -> None:
    """Insert rows, or update them by primary key.

    `newer` (given `excluded`, a condition on it and the table's columns) guards the
    update so that an older copy never overwrites a newer one; `keep_earliest` names a
    column that keeps the smallest value ever written (a quarantined record's first
    sighting).

    Text is written by one rule on SQLite and PostgreSQL (warehouse/text.py): every NUL
    character is removed from every text value, keys included, and a lone surrogate
    becomes U+FFFD; nothing else is changed. `storable` says the rows follow that rule
    already (`store_records` makes records storable before it merges them).
    """
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    for offset in range(0, len(rows), BATCH):
        statement = _insert(conn, table)
        excluded = statement.excluded
        guard = newer(excluded) if newer is not None else None
        values: dict[str, Any] = {}
        for column in table.columns:
            if column.name in keys:
                continue
            incoming, current = excluded[column.name], table.c[column.name]
            if column.name == keep_earliest:
                values[column.name] = case((incoming < current, incoming), else_=current)
            elif guard is not None:
                values[column.name] = case((guard, incoming), else_=current)
            else:
                values[column.name] = incoming
        statement = statement.on_conflict_do_update(index_elements=keys, set_=values)
        batch = rows[offset : offset + BATCH]
        conn.execute(statement, batch if storable else [storable_row(row) for row in batch])


def _newer_by(column: str, table: Any) -> Callable[[Any], ColumnElement[bool]]:
    def guard(excluded: Any) -> ColumnElement[bool]:
        return or_(table.c[column].is_(None), excluded[column] >= table.c[column])

    return guard


def record_row(record: Any) -> dict[str, Any]:
    """A model record's fields as a row. Every stored record's fields are plain values (text,
    numbers, times), so this is `dataclasses.asdict` without its deep copy of each value,
    which was a sixth of a Zendesk backfill's own CPU time (bench/PROFILE.md)."""
    kind = type(record)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return {name: getattr(record, name) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def store_records(conn: Connection, records: Iterable[Any], seen_at: datetime) -> set[str]:
    """Upsert model records of any kind; returns the interaction ids they touch.

    Records are made storable first (warehouse/text.py), so a rating is merged with the
    stored row of the id it will be written under.
    """
    by_kind: dict[type, list[dict[str, Any]]] = {}
    touched: set[str] = set()
    for record in records:
        row = storable_row(record_row(record))
        if isinstance(record, Agent):
            row["seen_at"] = seen_at
        elif not isinstance(record, Quarantined):
            touched.add(row["interaction_id"])
        by_kind.setdefault(type(record), []).append(row)
    newer_interaction = _newer_by("updated_at", interactions)
    upsert(conn, interactions, by_kind.get(Interaction, []), newer_interaction, storable=True)
    upsert(conn, ownership_changes, by_kind.get(OwnershipChange, []), storable=True)
    upsert(conn, status_changes, by_kind.get(StatusChange, []), storable=True)
    upsert(conn, satisfaction_changes, by_kind.get(SatisfactionChange, []), storable=True)
    apply_ratings(
        conn,
        [Rating(**row) for row in by_kind.get(Rating, [])],
        [RatingState(**row) for row in by_kind.get(RatingState, [])],
    )
    upsert(conn, agents, by_kind.get(Agent, []), _newer_by("updated_at", agents), storable=True)
    upsert(
        conn,
        quarantine,
        quarantine_rows(Quarantined(**row) for row in by_kind.get(Quarantined, [])),
        _newer_by("last_seen_at", quarantine),
        keep_earliest="first_seen_at",
    )
    return touched


def apply_ratings(
    conn: Connection, copies: Sequence[Rating], states: Sequence[RatingState]
) -> None:
    """Merge ratings-stream copies, then tickets' views of their ratings, into the stored
    rows, by the rules of warehouse/ratings.py (docs/metrics.md "CSAT": first answer)."""
    if not copies and not states:
        return
    before = stored_ratings(
        conn, [(r.source, r.rating_id) for r in copies] + [(s.source, s.rating_id) for s in states]
    )
    after = dict(before)
    for copy in copies:
        key = (copy.source, copy.rating_id)
        after[key] = merged_rating(after.get(key), copy)
    for state in states:
        key = (state.source, state.rating_id)
        corrected = rating_corrected_by_state(after.get(key), state)
        if corrected is not None:
            after[key] = corrected
    changed = [record_row(row) for key, row in sorted(after.items()) if before.get(key) != row]
    upsert(conn, ratings, changed)


@dataclass(frozen=True)
class StreamRead:
    """A stream read completely up to `complete_to`, and the streams whose complete reads
    bound the source's high-water mark (docs/metrics.md
    "Resolution and first-contact resolution (FCR)", "Completeness")."""

    stream: str
    complete_to: datetime
    bounding: tuple[str, ...]


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
        customers, moments = _stored_before(conn, source, records)
        touched = store_records(conn, records, now)
        mark_interactions_dirty(conn, source, touched, rule, customers, moments)
        save_cursor(conn, source, stream_key, cursor, now)
        if read is not None:
            complete_stream(conn, source, read, rule, now)
        if high_water_mark is not None:
            raise_high_water_mark(conn, source, high_water_mark, rule, now)


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


def local_day(at: datetime, rule: DirtyRule) -> date:
    return at.astimezone(ZoneInfo(rule.timezone)).date()


def mark_days(conn: Connection, source: str, days: Iterable[date]) -> None:
    """Mark days dirty under a fresh token, also days already dirty: a score that read an
    older mark of a day then leaves this one in place for the next score."""
    token = uuid4().hex
    rows = [{"source": source, "day": day, "token": token} for day in sorted(set(days))]
    if not rows:
        return
    for offset in range(0, len(rows), BATCH):
        statement = _insert(conn, dirty_days)
        statement = statement.on_conflict_do_update(
            index_elements=["source", "day"], set_={"token": statement.excluded.token}
        )
        conn.execute(statement, rows[offset : offset + BATCH])


def mark_day_range(
    conn: Connection, source: str, start: datetime, end: datetime, rule: DirtyRule
) -> None:
    first, last = local_day(start, rule), local_day(end, rule)
    mark_days(conn, source, (first + timedelta(days=n) for n in range((last - first).days + 1)))


def _stored_before(
    conn: Connection, source: str, records: Sequence[Any]
) -> tuple[dict[str, datetime], list[datetime]]:
    """What is stored now of a page's interactions and ratings: their customers (each with
    the earliest creation time under it; a changed requester frees the old customer's
    earlier resolutions, docs/metrics.md "Resolution and first-contact resolution (FCR)")
    and their moments (a rating's first answer or a resolution time can move to another
    day)."""
    interaction_ids = sorted(
        {storable_text(r.interaction_id) for r in records if isinstance(r, Interaction)}
    )
    rating_ids = sorted(
        {storable_text(r.rating_id) for r in records if isinstance(r, Rating | RatingState)}
    )
    customers: dict[str, datetime] = {}
    moments: list[datetime] = []
    _add_interaction_moments(conn, source, interaction_ids, customers, moments)
    for offset in range(0, len(rating_ids), BATCH):
        moments.extend(
            conn.execute(
                select(ratings.c.created_at).where(
                    ratings.c.source == source,
                    ratings.c.rating_id.in_(rating_ids[offset : offset + BATCH]),
                )
            ).scalars()
        )
    return customers, moments


def mark_interactions_dirty(
    conn: Connection,
    source: str,
    interaction_ids: set[str],
    rule: DirtyRule,
    former_customers: dict[str, datetime] | None = None,
    former_moments: Iterable[datetime] = (),
) -> None:
    """Mark every day these interactions count on, and the resolution days of their
    customers' other interactions whose repeat window they may fall into (DESIGN.md
    "Data flow", step 3). `former_customers` (customer id: earliest creation time of
    these interactions under it) and `former_moments` are what was stored before this
    page: a contact that moved to another customer no longer breaks the old one's FCR,
    and a count that moved to another day leaves its old day."""
    ids = sorted(interaction_ids)
    moments: list[datetime] = list(former_moments)
    customers: dict[str, datetime] = dict(former_customers or {})
    for offset in range(0, len(ids), BATCH):
        batch = ids[offset : offset + BATCH]
        for column in COUNTED_MOMENTS:
            table = column.table
            moments.extend(
                conn.execute(
                    select(column).where(
                        table.c.source == source, table.c.interaction_id.in_(batch)
                    )
                ).scalars()
            )
    _add_interaction_moments(conn, source, ids, customers, moments)
    moments.extend(_repeat_window_moments(conn, source, customers, rule))
    # A page's moments repeat (an interaction's, its events', its customer's): each
    # distinct one is turned into a local day once.
    mark_days(conn, source, (local_day(m, rule) for m in set(moments)))


def _add_interaction_moments(
    conn: Connection,
    source: str,
    ids: Sequence[str],
    customers: dict[str, datetime],
    moments: list[datetime],
) -> None:
    """Add the stored moments of these interactions (creation, update, resolution) to
    `moments`, and their customers, each with the earliest creation under it, to
    `customers`."""
    for offset in range(0, len(ids), BATCH):
        for row in conn.execute(
            select(
                interactions.c.customer_id,
                interactions.c.created_at,
                interactions.c.updated_at,
                interactions.c.solved_at,
            ).where(
                interactions.c.source == source,
                interactions.c.interaction_id.in_(ids[offset : offset + BATCH]),
            )
        ):
            moments.extend(m for m in (row.created_at, row.updated_at, row.solved_at) if m)
            if row.customer_id is not None:
                earliest = customers.get(row.customer_id, row.created_at)
                customers[row.customer_id] = min(earliest, row.created_at)


def _repeat_window_moments(
    conn: Connection, source: str, customers: dict[str, datetime], rule: DirtyRule
) -> list[datetime]:
    """Resolution moments of a customer's interactions that a contact at or after
    `earliest` can be a repeat contact for (docs/metrics.md
    "Resolution and first-contact resolution (FCR)", condition 2)."""
    moments: list[datetime] = []
    names = sorted(customers)
    for offset in range(0, len(names), BATCH):
        batch = names[offset : offset + BATCH]
        since = min(customers[c] for c in batch) - rule.repeat_window
        owned_by_batch = and_(
            interactions.c.source == source,
            interactions.c.customer_id.in_(batch),
        )
        moments.extend(
            conn.execute(
                select(status_changes.c.at)
                .join(
                    interactions,
                    and_(
                        interactions.c.source == status_changes.c.source,
                        interactions.c.interaction_id == status_changes.c.interaction_id,
                    ),
                )
                .where(owned_by_batch, status_changes.c.resolved.is_(True))
                .where(status_changes.c.at >= since)
            ).scalars()
        )
        for row in conn.execute(
            select(interactions.c.updated_at, interactions.c.solved_at).where(
                owned_by_batch,
                interactions.c.resolved.is_(True),
                interactions.c.updated_at >= since,
            )
        ):
            moments.extend(m for m in (row.updated_at, row.solved_at) if m)
    return moments


def pop_dirty_days(conn: Connection, source: str, marks: Iterable[tuple[date, str | None]]) -> None:
    """Clear these (day, token) marks; a day marked again since (new token) stays dirty."""
    by_token: dict[str | None, list[date]] = {}
    for day, token in marks:
        by_token.setdefault(token, []).append(day)
    for token, days in by_token.items():
        same_mark = dirty_days.c.token.is_(None) if token is None else dirty_days.c.token == token
        for offset in range(0, len(days), BATCH):
            conn.execute(
                dirty_days.delete().where(
                    dirty_days.c.source == source,
                    dirty_days.c.day.in_(days[offset : offset + BATCH]),
                    same_mark,
                )
            )


def known_sources(engine: Engine) -> set[str]:
    """Every source the warehouse holds state of."""
    with engine.connect() as conn:
        return set(conn.execute(select(sync_state.c.source).distinct()).scalars())


def dirty_days_of(engine: Engine, source: str) -> list[date]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(dirty_days.c.day).where(dirty_days.c.source == source)).scalars()
        )
