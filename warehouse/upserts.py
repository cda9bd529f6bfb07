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
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, or_
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
    agents,
    interactions,
    ownership_changes,
    quarantine,
    ratings,
    satisfaction_changes,
    status_changes,
)
from warehouse.text import storable_row

BATCH = 500  # rows per statement: well under SQLite's and PostgreSQL's parameter limits


def dialect_insert(conn: Connection, table: Any) -> Any:
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
        statement = dialect_insert(conn, table)
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


def newer_by(column: str, table: Any) -> Callable[[Any], ColumnElement[bool]]:
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
    newer_interaction = newer_by("updated_at", interactions)
    upsert(conn, interactions, by_kind.get(Interaction, []), newer_interaction, storable=True)
    upsert(conn, ownership_changes, by_kind.get(OwnershipChange, []), storable=True)
    upsert(conn, status_changes, by_kind.get(StatusChange, []), storable=True)
    upsert(conn, satisfaction_changes, by_kind.get(SatisfactionChange, []), storable=True)
    apply_ratings(
        conn,
        [Rating(**row) for row in by_kind.get(Rating, [])],
        [RatingState(**row) for row in by_kind.get(RatingState, [])],
    )
    upsert(conn, agents, by_kind.get(Agent, []), newer_by("updated_at", agents), storable=True)
    upsert(
        conn,
        quarantine,
        quarantine_rows(Quarantined(**row) for row in by_kind.get(Quarantined, [])),
        newer_by("last_seen_at", quarantine),
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
