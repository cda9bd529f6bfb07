"""Record upserts: model records written by natural key, idempotently.

`upsert` is the one statement every warehouse write goes through (insert, or update by
primary key, guarded so that an older copy never overwrites a newer one); `store_records`
writes a page's model records of every kind with it, and `apply_ratings` merges rating
copies by the rules of warehouse/ratings.py. What a page's write means for cursors and
dirty days is warehouse/cursors.py's and warehouse/day_marks.py's; warehouse/store.py joins
the three in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, case, or_
from sqlalchemy.dialects import postgresql, sqlite

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
    agents,
    interactions,
    ownership_changes,
    quarantine,
    ratings,
    satisfaction_changes,
    status_changes,
)
from warehouse.text import storable_rows

BATCH = 500  # rows per statement: well under SQLite's and PostgreSQL's parameter limits


def dialect_insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert(
    conn: Connection,
    table: Any,
    rows: Sequence[dict[str, Any]],
    newer: str | None = None,
    keep_earliest: str | None = None,
    storable: bool = False,
) -> None:
    """Insert rows, or update them by primary key.

    `newer` names the column that orders copies (empty values first): the update is
    guarded so that an older copy never overwrites a newer one; `keep_earliest` names a
    column that keeps the smallest value ever written (a quarantined record's first
    sighting).

    Text is written by one rule on SQLite and PostgreSQL (warehouse/text.py): every NUL
    character is removed from every text value, keys included, and a lone surrogate
    becomes U+FFFD; nothing else is changed. `storable` says the rows follow that rule
    already (`store_records` makes records storable before it merges them).
    """
    if not rows:
        return
    names = tuple(rows[0])
    values = [tuple(row[name] for name in names) for row in rows]
    if not storable:
        values = storable_rows(values)
    write_rows(conn, table, names, values, newer, keep_earliest)


@dataclass(frozen=True)
class _CompiledUpsert:
    """An upsert compiled once for a table, its columns written and the database's driver:
    the driver's SQL, where each row value goes, and the bind conversions it needs."""

    sql: str
    order: tuple[int, ...]  # the statement's parameters, as indexes into a row's values
    names: tuple[str, ...] | None  # their names, for a driver of named parameters
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]  # (parameter, conversion)


_COMPILED: dict[tuple[Any, ...], _CompiledUpsert] = {}


def _compiled_upsert(
    conn: Connection,
    table: Any,
    names: tuple[str, ...],
    newer: str | None,
    keep_earliest: str | None,
) -> _CompiledUpsert:
    dialect = conn.dialect
    key = (dialect.name, dialect.driver, dialect.paramstyle, table, names, newer, keep_earliest)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    statement = dialect_insert(conn, table)
    excluded = statement.excluded
    keys = [c.name for c in table.primary_key.columns]
    guard = (
        or_(table.c[newer].is_(None), excluded[newer] >= table.c[newer])
        if newer is not None
        else None
    )
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
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    parameters = tuple(compiled.positiontup or ()) if compiled.positional else names
    if sorted(parameters) != sorted(names):
        raise ValueError(f"upsert of {table.name}: parameters {parameters} for columns {names}")
    # The same conversions SQLAlchemy applies to each bound value (warehouse/schema.py
    # `UTCDateTime`; booleans and dates on SQLite), looked up once, not per row.
    conversions = tuple(
        (index, convert)
        for index, name in enumerate(parameters)
        if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    found = _COMPILED[key] = _CompiledUpsert(
        sql=compiled.string,
        order=tuple(names.index(name) for name in parameters),
        names=None if compiled.positional else parameters,
        conversions=conversions,
    )
    return found


def write_rows(
    conn: Connection,
    table: Any,
    names: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    newer: str | None = None,
    keep_earliest: str | None = None,
) -> None:
    """`upsert` of rows given as values in the order of `names`, already storable
    (warehouse/text.py): the statement is compiled once per table and driver, and the
    driver's `executemany` is given plain values (psycopg pipelines it), without
    SQLAlchemy's per-row parameter building."""
    if not rows:
        return
    compiled = _compiled_upsert(conn, table, names, newer, keep_earliest)
    columns = list(zip(*rows, strict=True))
    columns = [columns[index] for index in compiled.order]
    for index, convert in compiled.conversions:
        columns[index] = tuple(map(convert, columns[index]))
    values = list(zip(*columns, strict=True))
    if compiled.names is None:
        conn.exec_driver_sql(compiled.sql, values)
    else:
        conn.exec_driver_sql(
            compiled.sql, [dict(zip(compiled.names, row, strict=True)) for row in values]
        )


def record_row(record: Any) -> dict[str, Any]:
    """A model record's fields as a row. Every stored record's fields are plain values (text,
    numbers, times), so this is `dataclasses.asdict` without its deep copy of each value,
    which was a sixth of a Zendesk backfill's own CPU time (bench/PROFILE.md)."""
    return dict(zip(field_names(type(record)), record_values(record), strict=True))


def field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
        _FIELD_VALUES[kind] = attrgetter(*names)
    return names


def record_values(record: Any) -> tuple[Any, ...]:
    """A model record's field values, in the order of `field_names`."""
    kind = type(record)
    if kind not in _FIELD_VALUES:
        field_names(kind)
    values: tuple[Any, ...] = _FIELD_VALUES[kind](record)
    return values


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_FIELD_VALUES: dict[type, Callable[[Any], tuple[Any, ...]]] = {}

# The model records written as they are, in this order, each by its table and the column
# that orders its copies.
_WRITTEN_AS_THEY_ARE: tuple[tuple[type, Any, str | None], ...] = (
    (Interaction, interactions, "updated_at"),
    (OwnershipChange, ownership_changes, None),
    (StatusChange, status_changes, None),
    (SatisfactionChange, satisfaction_changes, None),
)


_STORED_KINDS = (
    *(kind for kind, _, _ in _WRITTEN_AS_THEY_ARE),
    Rating,
    RatingState,
    Agent,
    Quarantined,
)


def store_records(conn: Connection, records: Iterable[Any], seen_at: datetime) -> set[str]:
    """Upsert model records of any kind; returns the interaction ids they touch.

    Records are made storable first (warehouse/text.py), so a rating is merged with the
    stored row of the id it will be written under.
    """
    by_kind: dict[type, list[Any]] = {kind: [] for kind in _STORED_KINDS}
    for record in records:
        kind = type(record)
        if kind not in by_kind:
            raise TypeError(f"{record!r} is no model record the warehouse stores")
        by_kind[kind].append(record)
    touched: set[str] = set()
    for kind, table, newer in _WRITTEN_AS_THEY_ARE:
        names = field_names(kind)
        rows = storable_rows([record_values(r) for r in by_kind[kind]])
        position = names.index("interaction_id")
        touched.update(row[position] for row in rows)
        write_rows(conn, table, names, rows, newer)
    copies = _storable_records(Rating, by_kind[Rating])
    states = _storable_records(RatingState, by_kind[RatingState])
    touched.update(r.interaction_id for r in copies)
    touched.update(s.interaction_id for s in states)
    apply_ratings(conn, copies, states)
    agent_rows = storable_rows([(*record_values(a), seen_at) for a in by_kind[Agent]])
    write_rows(conn, agents, (*field_names(Agent), "seen_at"), agent_rows, "updated_at")
    upsert(
        conn,
        quarantine,
        quarantine_rows(_storable_records(Quarantined, by_kind[Quarantined])),
        "last_seen_at",
        keep_earliest="first_seen_at",
    )
    return touched


def _storable_records(kind: type, records: list[Any]) -> list[Any]:
    """These records, or storable copies (warehouse/text.py) when their text needs it."""
    values = [record_values(r) for r in records]
    storable = storable_rows(values)
    if storable is values:
        return records
    names = field_names(kind)
    return [kind(**dict(zip(names, row, strict=True))) for row in storable]


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
