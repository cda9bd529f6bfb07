"""The warehouse's side of `deskmetrics reconcile`: stored interactions per local day.

Owns `created_per_day`: how many interactions of a source the warehouse holds, not deleted,
created on each local day of a period, counted the way a source's own search counts them
(deleted interactions are not searched). No HTTP: deskmetrics/reconcile.py compares.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from warehouse.schema import interactions


def created_per_day(
    engine: Engine, source: str, since: date, until: date, timezone: str
) -> dict[date, int]:
    """Per local day of [since, until), the stored non-deleted interactions created then."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until, time(), zone)
    query = select(interactions.c.created_at).where(
        interactions.c.source == source,
        interactions.c.deleted.is_(False),
        interactions.c.created_at >= start,
        interactions.c.created_at < end,
    )
    counts: Counter[date] = Counter()
    with engine.connect() as conn:
        for (created,) in conn.execute(query):
            counts[created.astimezone(zone).date()] += 1
    days = [since + timedelta(days=n) for n in range((until - since).days)]
    return {day: counts[day] for day in days}
