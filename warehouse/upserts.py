"""Record upserts: model records written by natural key, idempotently.

`upsert` is the one statement every warehouse write goes through (insert, or update by
primary key, guarded so that an older copy never overwrites a newer one; run by
warehouse/row_upsert.py `write_rows`, a COPY on PostgreSQL); `store_records`
writes a page's model records of every kind with it, and `apply_ratings` merges rating
copies by the rules of warehouse/ratings.py. What a page's write means for cursors and
dirty days is warehouse/cursors.py's and warehouse/day_marks.py's; warehouse/store.py joins
the three in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, select

from interactions import (
    Agent,
    Interaction,
    OwnershipChange,
    Quarantined,
    Rating,
    RatingState,
    Removed,
    SatisfactionChange,
    StatusChange,
)
from warehouse.json_params import among, json_param
from warehouse.quarantine import quarantine_rows
from warehouse.ratings import merged_rating, rating_corrected_by_state, stored_ratings
from warehouse.row_upsert import write_rows
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
    Removed,
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
    touched.update(_removed(conn, _storable_records(Removed, by_kind[Removed])))
    copies = _storable_records(Rating, by_kind[Rating])
    states = _storable_records(RatingState, by_kind[RatingState])
    touched.update(r.interaction_id for r in copies)
    touched.update(s.interaction_id for s in states)
    apply_ratings(conn, copies, states)
    people = _with_names_last_known(conn, _storable_records(Agent, by_kind[Agent]))
    agent_rows = [(*record_values(a), seen_at) for a in people]
    write_rows(conn, agents, (*field_names(Agent), "seen_at"), agent_rows, "updated_at")
    upsert(
        conn,
        quarantine,
        quarantine_rows(_storable_records(Quarantined, by_kind[Quarantined])),
        "last_seen_at",
        keep_earliest="first_seen_at",
    )
    return touched


def _removed(conn: Connection, removals: list[Removed]) -> set[str]:
    """Store as deleted the stored interactions the source removed (`Removed`), each from
    its removal on: a copy read later with an older stamp does not bring it back, a newer
    one (undeleted after all) does, and a removal older than the stored copy (one changed
    since, so restored) changes nothing. Returns the ids changed."""
    changed: set[str] = set()
    i = interactions.c
    for removal in removals:
        this = (i.source == removal.source) & (i.interaction_id == removal.interaction_id)
        stored = conn.execute(
            select(i.updated_at).where(this, i.deleted.is_(False))
        ).scalar_one_or_none()
        if stored is None or stored > removal.removed_at:
            continue  # never stored, stored deleted already, or restored since
        conn.execute(
            interactions.update().where(this).values(deleted=True, updated_at=removal.removed_at)
        )
        changed.add(removal.interaction_id)
    return changed


def _with_names_last_known(conn: Connection, people: list[Agent]) -> list[Agent]:
    """`people`, each copy without a name or e-mail given the one stored: an agent since
    deleted (whose e-mail the source drops) keeps counting under the name and e-mail last
    known, and stays one person with their agents of other sources (docs/metrics.md
    "Words": Agent; "People across sources")."""
    wanting = sorted({(a.source, a.agent_id) for a in people if not (a.name and a.email)})
    if not wanting:
        return people
    known: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for source in sorted({source for source, _ in wanting}):
        ids = [agent_id for s, agent_id in wanting if s == source]
        stored = select(agents.c.agent_id, agents.c.name, agents.c.email).where(
            agents.c.source == source, among(conn, agents.c.agent_id, "ids")
        )
        for agent_id, name, email in conn.execute(stored, {"ids": json_param(ids)}):
            known[(source, agent_id)] = (name, email)
    kept = []
    for person in people:
        name, email = known.get((person.source, person.agent_id), (None, None))
        kept.append(replace(person, name=person.name or name, email=person.email or email))
    return kept


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
