"""`deskmetrics reconcile`: the stored counts per local day against the source's own.

Owns `reconcile` and what it finds (`Reconciliation`): per local day of the period, the
interactions created, the interactions resolved now (at their latest resolution) and, where
the source counts them cheaply, the ratings answered, as the warehouse holds them
(warehouse/reconcile_counts.py) against the numbers the source counts itself
(connectors/source_counts.py: Zendesk's search count, two requests a day, ratings not
counted; Salesforce's aggregate SOQL, one query per count for the whole period), the counts
not compared and why, the days it leaves out and why, and the requests it spent. A day is
compared only once the source has been read past its end (the high-water mark) and the
source's index has caught up with it (`INDEX_LAG`): a day the source may not have indexed
(or, in Salesforce, committed) yet would differ for no fault of the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from connectors.source_counts import (
    CASES_CLOSED,
    CASES_CREATED,
    DayCounter,
    salesforce_converts_days,
    salesforce_dated_counter,
    salesforce_per_day,
    salesforce_ratings_counter,
    zendesk_created_query,
    zendesk_resolved_query,
    zendesk_search_count,
)
from deskmetrics.settings import SalesforceSourceSettings, Settings, ZendeskSourceSettings
from interactions import InputError
from warehouse.cursors import high_water_mark
from warehouse.reconcile_counts import (
    answered_ratings_per_day,
    created_per_day,
    resolved_per_day,
)

# Zendesk indexes a new ticket for search within minutes; a day is compared only when its
# end is this far behind both the high-water mark and the clock.
INDEX_LAG = timedelta(minutes=15)

# What is counted, as the output names it.
CREATED = "created"
RESOLVED = "resolved"
RATINGS = "ratings answered"
ZENDESK_RATINGS_NOT_COUNTED = (
    "Zendesk counts ratings by the day they were answered only by listing them, 100 a page"
)

StoredCounts = Callable[[Engine, str, date, date, str], dict[date, int]]
STORED: dict[str, StoredCounts] = {
    CREATED: created_per_day,
    RESOLVED: resolved_per_day,
    RATINGS: answered_ratings_per_day,
}


@dataclass(frozen=True)
class DayCount:
    day: date
    what: str  # CREATED, RESOLVED or RATINGS
    stored: int
    at_source: int

    @property
    def difference(self) -> int:
        """Stored minus the source's: negative when the warehouse misses some."""
        return self.stored - self.at_source


@dataclass(frozen=True)
class Reconciliation:
    source: str
    days: list[date]  # the days compared
    counts: list[DayCount]  # one per day compared and count compared, by day
    not_compared: dict[str, str]  # a count the source cannot count cheaply: why
    left_out: list[date]  # days the source may not have indexed, or the warehouse read, yet
    compared_until: datetime  # days ending after this were left out
    requests: int

    @property
    def differing(self) -> list[DayCount]:
        return [count for count in self.counts if count.difference]

    @property
    def differing_days(self) -> list[date]:
        return sorted({count.day for count in self.differing})


def reconcile(
    engine: Engine,
    settings: Settings,
    source: str,
    since: date,
    until: date,
    now: datetime | None = None,
) -> Reconciliation:
    """Compare the counts per local day of [since, until) with the source's."""
    if until <= since:
        raise InputError(f"--until {until} is not after --since {since}; the period is empty.")
    kind = settings.sources.get(source)
    if kind is None:
        known = ", ".join(sorted(settings.sources)) or "none"
        raise InputError(f"--source {source!r} is not in the settings (configured: {known}).")
    if not isinstance(kind, ZendeskSourceSettings | SalesforceSourceSettings):
        raise InputError(
            f"--source {source!r} is of type {kind.type!r}: reconcile counts Zendesk and "
            "Salesforce sources only."
        )
    with engine.connect() as conn:
        mark = high_water_mark(conn, source)
    now = now or datetime.now(UTC)
    limit = min(mark, now) - INDEX_LAG if mark is not None else None
    zone = ZoneInfo(settings.timezone)
    all_days = [since + timedelta(days=n) for n in range((until - since).days)]
    days = [
        day
        for day in all_days
        if limit is not None and datetime.combine(day + timedelta(days=1), time(), zone) <= limit
    ]
    if isinstance(kind, SalesforceSourceSettings):
        at_source, not_compared, requests = _salesforce_counts(settings, source, days, zone)
    else:
        at_source, not_compared, requests = _zendesk_counts(settings, source, days, zone)
    stored = {
        what: STORED[what](engine, source, since, until, settings.timezone) for what in at_source
    }
    counts = [
        DayCount(day, what, stored[what][day], at_source[what].get(day, 0))
        for day in days
        for what in at_source
    ]
    return Reconciliation(
        source,
        days,
        counts,
        not_compared,
        [day for day in all_days if day not in days],
        limit if limit is not None else datetime.min.replace(tzinfo=UTC),
        requests,
    )


def _bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(), zone), datetime.combine(
        day + timedelta(days=1), time(), zone
    )


SourceCounts = tuple[dict[str, dict[date, int]], dict[str, str], int]


def _zendesk_counts(
    settings: Settings, source: str, days: list[date], zone: ZoneInfo
) -> SourceCounts:
    """Zendesk's search counts of each day: two requests a day (created, resolved)."""
    # Imported here: the API client loads with it, which other commands need not wait for.
    from connectors.zendesk import ZendeskConnector

    queries = {CREATED: zendesk_created_query, RESOLVED: zendesk_resolved_query}
    with ZendeskConnector(settings.zendesk_config(source), settings.retry_policy()) as connector:
        found = {
            what: {day: zendesk_search_count(connector, query(*_bounds(day, zone))) for day in days}
            for what, query in queries.items()
        }
        return found, {RATINGS: ZENDESK_RATINGS_NOT_COUNTED}, connector.usage.requests


def _salesforce_counts(
    settings: Settings, source: str, days: list[date], zone: ZoneInfo
) -> SourceCounts:
    """Salesforce's counts of these days: one aggregate query per count over them all (and,
    for a zone other than UTC, one userinfo request; for answers, one describe of the CSAT
    object), besides the login."""
    from connectors.salesforce import SalesforceConnector  # as in `_zendesk_counts`

    config = settings.salesforce_config(source)
    counters: dict[str, DayCounter] = {CREATED: CASES_CREATED, RESOLVED: CASES_CLOSED}
    ratings = salesforce_ratings_counter(config)
    not_compared = {}
    if isinstance(ratings, DayCounter):
        counters[RATINGS] = ratings
    else:
        not_compared[RATINGS] = ratings
    if not days:
        return {what: {} for what in counters}, not_compared, 0
    start, end = _bounds(days[0], zone)[0], _bounds(days[-1], zone)[1]
    with SalesforceConnector(config, settings.retry_policy()) as connector:
        converted = salesforce_converts_days(connector, settings.timezone)
        if RATINGS in counters:
            counters[RATINGS] = salesforce_dated_counter(connector, counters[RATINGS])
        found = {
            what: salesforce_per_day(connector, counter, start, end, converted)
            for what, counter in counters.items()
        }
        return found, not_compared, connector.usage.requests
