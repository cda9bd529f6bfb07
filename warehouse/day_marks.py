"""Dirty days: the local days whose facts a write may change, to be scored again.

A page marks every day its interactions count on, before and after the write, and the
resolution days of their customers' other interactions whose repeat window the page may
reach (DESIGN.md "Data flow", step 3). `score` clears a day's mark by its token, so a day
marked again while it was being scored stays dirty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from interactions import Interaction, Rating, RatingState
from warehouse.schema import COUNTED_MOMENTS, dirty_days, interactions, ratings, status_changes
from warehouse.text import storable_text
from warehouse.upserts import BATCH, dialect_insert


@dataclass(frozen=True)
class DirtyRule:
    """What marking days needs to know: the day boundary and the FCR repeat window."""

    timezone: str
    repeat_window: timedelta


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
        statement = dialect_insert(conn, dirty_days)
        statement = statement.on_conflict_do_update(
            index_elements=["source", "day"], set_={"token": statement.excluded.token}
        )
        conn.execute(statement, rows[offset : offset + BATCH])


def mark_day_range(
    conn: Connection, source: str, start: datetime, end: datetime, rule: DirtyRule
) -> None:
    first, last = local_day(start, rule), local_day(end, rule)
    mark_days(conn, source, (first + timedelta(days=n) for n in range((last - first).days + 1)))


def stored_before(
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
                )
                .scalars()
                .all()
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
        ).all():
            moments.extend(m for m in (row.created_at, row.updated_at, row.solved_at) if m)
            if row.customer_id is not None:
                earliest = customers.get(row.customer_id, row.created_at)
                customers[row.customer_id] = min(earliest, row.created_at)


def _repeat_window_moments(
    conn: Connection, source: str, customers: dict[str, datetime], rule: DirtyRule
) -> list[datetime]:
    """Resolution moments of a customer's interactions that a contact at or after the
    customer's `earliest` can be a repeat contact for (docs/metrics.md
    "Resolution and first-contact resolution (FCR)", condition 2).

    Read by customer, then by interaction, and the window applied here: with a time
    condition in SQL, or one query joining both, SQLite's planner reads by the time index
    (or all of the source's status changes) instead and steps through every resolution
    stored so far, for every page of a backfill (bench/PROFILE.md)."""
    moments: list[datetime] = []
    since: dict[str, datetime] = {}  # interaction id: the earliest resolution that counts
    names = sorted(customers)
    for offset in range(0, len(names), BATCH):
        for row in conn.execute(
            select(
                interactions.c.interaction_id,
                interactions.c.customer_id,
                interactions.c.resolved,
                interactions.c.updated_at,
                interactions.c.solved_at,
            ).where(
                interactions.c.source == source,
                interactions.c.customer_id.in_(names[offset : offset + BATCH]),
            )
        ).all():
            earliest = customers[row.customer_id] - rule.repeat_window
            since[row.interaction_id] = earliest
            if row.resolved and row.updated_at >= earliest:
                moments.append(row.updated_at)
                if row.solved_at is not None:
                    moments.append(row.solved_at)
    ids = sorted(since)
    for offset in range(0, len(ids), BATCH):
        resolutions = conn.execute(
            select(status_changes.c.interaction_id, status_changes.c.at).where(
                status_changes.c.source == source,
                status_changes.c.interaction_id.in_(ids[offset : offset + BATCH]),
                status_changes.c.resolved.is_(True),
            )
        ).all()
        moments.extend(at for interaction, at in resolutions if at >= since[interaction])
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


def dirty_days_of(engine: Engine, source: str) -> list[date]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(dirty_days.c.day).where(dirty_days.c.source == source)).scalars()
        )
