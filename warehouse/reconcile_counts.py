"""The warehouse's side of `deskmetrics reconcile`: stored counts per local day.

Owns `created_per_day`, `resolved_per_day` and `answered_ratings_per_day`: how many
interactions of a source the warehouse holds, not deleted, created (or resolved now, at
their latest resolution: the source's own `solved_at`, Zendesk's metric set and
Salesforce's `ClosedDate`) on each local day of a period, and how many answered ratings
(not offers, not of an interaction stored as deleted) it holds by the day of their first
answer. Each is counted the way the source counts its own (connectors/source_counts.py):
deleted interactions are neither searched nor queried there. No HTTP:
deskmetrics/reconcile.py compares.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, or_, select

from interactions import is_answer_score
from warehouse.schema import interactions, ratings


def _bounds(since: date, until: date, timezone: str) -> tuple[ZoneInfo, datetime, datetime]:
    zone = ZoneInfo(timezone)
    return zone, datetime.combine(since, time(), zone), datetime.combine(until, time(), zone)


def _per_day(
    engine: Engine, query: Any, since: date, until: date, zone: ZoneInfo
) -> dict[date, int]:
    """Rows of `query` (a moment, and optionally a score that must be an answer) per local
    day, every day of [since, until) present."""
    counts: Counter[date] = Counter()
    with engine.connect() as conn:
        for row in conn.execute(query):
            if len(row) == 1 or is_answer_score(row[1]):
                counts[row[0].astimezone(zone).date()] += 1
    days = [since + timedelta(days=n) for n in range((until - since).days)]
    return {day: counts[day] for day in days}


def created_per_day(
    engine: Engine, source: str, since: date, until: date, timezone: str
) -> dict[date, int]:
    """Per local day of [since, until), the stored non-deleted interactions created then."""
    zone, start, end = _bounds(since, until, timezone)
    query = select(interactions.c.created_at).where(
        interactions.c.source == source,
        interactions.c.deleted.is_(False),
        interactions.c.created_at >= start,
        interactions.c.created_at < end,
    )
    return _per_day(engine, query, since, until, zone)


def resolved_per_day(
    engine: Engine, source: str, since: date, until: date, timezone: str
) -> dict[date, int]:
    """Per local day of [since, until), the stored non-deleted interactions resolved now
    whose latest resolution (`solved_at`) was then."""
    zone, start, end = _bounds(since, until, timezone)
    query = select(interactions.c.solved_at).where(
        interactions.c.source == source,
        interactions.c.deleted.is_(False),
        interactions.c.resolved.is_(True),
        interactions.c.solved_at >= start,
        interactions.c.solved_at < end,
    )
    return _per_day(engine, query, since, until, zone)


def answered_ratings_per_day(
    engine: Engine, source: str, since: date, until: date, timezone: str
) -> dict[date, int]:
    """Per local day of [since, until), the stored ratings first answered then (offers are
    not answers), leaving out those of an interaction stored as deleted (a source drops a
    deleted case's link from its surveys)."""
    zone, start, end = _bounds(since, until, timezone)
    of_interaction = and_(
        interactions.c.source == ratings.c.source,
        interactions.c.interaction_id == ratings.c.interaction_id,
    )
    query = (
        select(ratings.c.created_at, ratings.c.score)
        .select_from(ratings.outerjoin(interactions, of_interaction))
        .where(
            ratings.c.source == source,
            ratings.c.created_at >= start,
            ratings.c.created_at < end,
            or_(interactions.c.deleted.is_(None), interactions.c.deleted.is_(False)),
        )
    )
    return _per_day(engine, query, since, until, zone)
