"""Reading the model back for scoring, and replacing the facts of recomputed days.

Scoring a set of days needs every interaction that counts on one of them: those with an
owner change, a status change or a rating on such a day, or a resolution time from the
source's own aggregate there (METRICS.md: handled, transfers, resolutions and CSAT are all
counted on the day of one of these moments). `histories_for_days` finds them, with every
record about them, and `contacts_of` the customers' other interactions for the repeat
window. `replace_day_facts` swaps a set of days' facts in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, or_, select

from interactions import Agent, History, Interaction, OwnershipChange, Rating, StatusChange
from warehouse.schema import (
    COUNTED_MOMENTS,
    FACT_COUNTS,
    agent_day_facts,
    agents,
    interactions,
    ownership_changes,
    ratings,
    status_changes,
)
from warehouse.store import BATCH, pop_dirty_days

UNASSIGNED = ""


def day_ranges(days: Sequence[date], timezone: str) -> list[tuple[datetime, datetime]]:
    """Consecutive local days merged into UTC [start, end) ranges."""
    zone = ZoneInfo(timezone)
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return [
        (datetime.combine(a, time(), zone), datetime.combine(b, time(), zone)) for a, b in ranges
    ]


def interaction_ids_on(
    conn: Connection, source: str, days: Sequence[date], timezone: str
) -> set[str]:
    ids: set[str] = set()
    for start, end in day_ranges(days, timezone):
        for column in COUNTED_MOMENTS:
            table = column.table
            ids.update(
                conn.execute(
                    select(table.c.interaction_id)
                    .where(table.c.source == source, column >= start, column < end)
                    .distinct()
                ).scalars()
            )
        in_range = or_(
            and_(interactions.c.updated_at >= start, interactions.c.updated_at < end),
            and_(interactions.c.solved_at >= start, interactions.c.solved_at < end),
        )
        ids.update(
            conn.execute(
                select(interactions.c.interaction_id).where(
                    interactions.c.source == source, interactions.c.resolved.is_(True), in_range
                )
            ).scalars()
        )
    return ids


def _rows(conn: Connection, table: Any, source: str, ids: Sequence[str]) -> list[Any]:
    found: list[Any] = []
    for offset in range(0, len(ids), BATCH):
        found.extend(
            conn.execute(
                select(table).where(
                    table.c.source == source,
                    table.c.interaction_id.in_(ids[offset : offset + BATCH]),
                )
            )
        )
    return found


def histories(conn: Connection, source: str, interaction_ids: Iterable[str]) -> list[History]:
    """Whole histories of these interactions (those never exported as tickets are skipped)."""
    ids = sorted(interaction_ids)
    owners: dict[str, list[OwnershipChange]] = defaultdict(list)
    statuses: dict[str, list[StatusChange]] = defaultdict(list)
    answers: dict[str, list[Rating]] = defaultdict(list)
    for row in _rows(conn, ownership_changes, source, ids):
        owners[row.interaction_id].append(OwnershipChange(**row._mapping))
    for row in _rows(conn, status_changes, source, ids):
        statuses[row.interaction_id].append(StatusChange(**row._mapping))
    for row in _rows(conn, ratings, source, ids):
        answers[row.interaction_id].append(Rating(**row._mapping))
    return [
        History(
            interaction=Interaction(**row._mapping),
            ownership=tuple(owners[row.interaction_id]),
            statuses=tuple(statuses[row.interaction_id]),
            ratings=tuple(answers[row.interaction_id]),
        )
        for row in _rows(conn, interactions, source, ids)
    ]


def contacts_of(
    conn: Connection, source: str, customer_ids: Iterable[str]
) -> dict[tuple[str, str], list[tuple[str, datetime]]]:
    """(interaction id, created_at) of each non-deleted interaction of these customers."""
    names = sorted(set(customer_ids))
    found: dict[tuple[str, str], list[tuple[str, datetime]]] = defaultdict(list)
    for offset in range(0, len(names), BATCH):
        for row in conn.execute(
            select(
                interactions.c.customer_id,
                interactions.c.interaction_id,
                interactions.c.created_at,
            ).where(
                interactions.c.source == source,
                interactions.c.customer_id.in_(names[offset : offset + BATCH]),
                interactions.c.deleted.is_(False),
            )
        ):
            found[(source, row.customer_id)].append((row.interaction_id, row.created_at))
    return found


def replace_day_facts(
    engine: Engine, source: str, days: Sequence[date], facts: Iterable[Any], now: datetime
) -> int:
    """Replace the facts of `days` with `facts` and clear those days' dirty marks."""
    rows = [
        {
            "source": source,
            "agent_id": fact.agent_id if fact.agent_id is not None else UNASSIGNED,
            "day": fact.day,
            **{name: getattr(fact, name) for name in FACT_COUNTS},
            "csat_score_sum": fact.csat_score_sum,
            "computed_at": now,
        }
        for fact in facts
    ]
    with engine.begin() as conn:
        for offset in range(0, len(days), BATCH):
            conn.execute(
                agent_day_facts.delete().where(
                    agent_day_facts.c.source == source,
                    agent_day_facts.c.day.in_(list(days[offset : offset + BATCH])),
                )
            )
        for offset in range(0, len(rows), BATCH):
            conn.execute(agent_day_facts.insert(), rows[offset : offset + BATCH])
        pop_dirty_days(conn, source, days)
    return len(rows)


def period_totals(
    engine: Engine, since: date, until: date, source: str | None = None
) -> list[dict[str, Any]]:
    """Summed counts per (source, agent) over local days [since, until)."""
    sums = [func.sum(agent_day_facts.c[name]).label(name) for name in FACT_COUNTS]
    query = (
        select(
            agent_day_facts.c.source,
            agent_day_facts.c.agent_id,
            *sums,
            func.sum(agent_day_facts.c.csat_score_sum).label("csat_score_sum"),
        )
        .where(agent_day_facts.c.day >= since, agent_day_facts.c.day < until)
        .group_by(agent_day_facts.c.source, agent_day_facts.c.agent_id)
    )
    if source is not None:
        query = query.where(agent_day_facts.c.source == source)
    with engine.connect() as conn:
        return [
            {
                **row._mapping,
                "agent_id": row.agent_id or None,
                "csat_score_sum": float(row.csat_score_sum or 0.0),
            }
            for row in conn.execute(query)
        ]


def recent_activity(conn: Connection, source: str, since: datetime) -> tuple[int, int]:
    """(resolutions, satisfaction records) of a source since a moment."""
    resolutions = conn.execute(
        select(func.count())
        .select_from(status_changes)
        .where(
            status_changes.c.source == source,
            status_changes.c.resolved.is_(True),
            status_changes.c.at >= since,
        )
    ).scalar()
    answers = conn.execute(
        select(func.count())
        .select_from(ratings)
        .where(ratings.c.source == source, ratings.c.created_at >= since)
    ).scalar()
    return int(resolutions or 0), int(answers or 0)


def known_agents(engine: Engine) -> dict[tuple[str, str], Agent]:
    with engine.connect() as conn:
        return {
            (row.source, row.agent_id): Agent(
                source=row.source,
                agent_id=row.agent_id,
                name=row.name,
                email=row.email,
                role=row.role,
                active=row.active,
                updated_at=row.updated_at,
            )
            for row in conn.execute(select(agents))
        }


def owners_without_agent(conn: Connection, source: str) -> set[str]:
    """Ids that owned or rated-for an interaction but have no agents row yet."""
    known = select(agents.c.agent_id).where(agents.c.source == source)
    ids: set[str] = set()
    for column, table in (
        (ownership_changes.c.new_owner, ownership_changes),
        (ratings.c.agent_id, ratings),
        (interactions.c.owner_id, interactions),
    ):
        ids.update(
            conn.execute(
                select(column)
                .where(table.c.source == source, column.is_not(None), column.not_in(known))
                .distinct()
            ).scalars()
        )
    return ids


def all_fact_days(conn: Connection, source: str, timezone: str) -> list[date]:
    """Every local day from the source's first recorded moment to its last."""
    bounds: list[date | datetime] = []
    for column in (*COUNTED_MOMENTS, interactions.c.updated_at):
        table = column.table
        low, high = conn.execute(
            select(func.min(column), func.max(column)).where(table.c.source == source)
        ).one()
        bounds.extend(b for b in (low, high) if b is not None)
    bounds.extend(
        conn.execute(
            select(agent_day_facts.c.day).where(agent_day_facts.c.source == source).distinct()
        ).scalars()
    )
    zone = ZoneInfo(timezone)
    days = {
        b if isinstance(b, date) and not isinstance(b, datetime) else b.astimezone(zone).date()
        for b in bounds
    }
    if not days:
        return []
    first, last = min(days), max(days)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
