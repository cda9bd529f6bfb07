"""`deskmetrics reconcile`: the stored counts per local day against the source's own.

Owns `reconcile` and what it finds (`Reconciliation`): per local day of the period, the
interactions created that the warehouse holds (not deleted) against the number the
source counts itself (connectors/source_counts.py: Zendesk's search count, a request a day;
Salesforce's aggregate SOQL, one query for the period), the days it leaves out and why, and
the requests it spent. A day is compared only once the source has been read past its end
(the high-water mark) and the source's index has caught up with it (`INDEX_LAG`): a day
the source may not have indexed (or, in Salesforce, committed) yet would differ for no fault
of the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from connectors.salesforce import SalesforceConnector
from connectors.source_counts import salesforce_created_per_day, zendesk_created_count
from connectors.zendesk import ZendeskConnector
from deskmetrics.settings import SalesforceSourceSettings, Settings, ZendeskSourceSettings
from interactions import InputError
from warehouse.cursors import high_water_mark
from warehouse.reconcile_counts import created_per_day

# Zendesk indexes a new ticket for search within minutes; a day is compared only when its
# end is this far behind both the high-water mark and the clock.
INDEX_LAG = timedelta(minutes=15)


@dataclass(frozen=True)
class DayCount:
    day: date
    stored: int
    at_source: int

    @property
    def difference(self) -> int:
        """Stored minus the source's: negative when the warehouse misses interactions."""
        return self.stored - self.at_source


@dataclass(frozen=True)
class Reconciliation:
    source: str
    compared: list[DayCount]
    left_out: list[date]  # days the source may not have indexed, or the warehouse read, yet
    compared_until: datetime  # days ending after this were left out
    requests: int

    @property
    def differing(self) -> list[DayCount]:
        return [day for day in self.compared if day.difference]


def reconcile(
    engine: Engine,
    settings: Settings,
    source: str,
    since: date,
    until: date,
    now: datetime | None = None,
) -> Reconciliation:
    """Compare the interactions created per local day of [since, until) with the source."""
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
    stored = created_per_day(engine, source, since, until, settings.timezone)
    compared_days = [
        day
        for day in stored
        if limit is not None and datetime.combine(day + timedelta(days=1), time(), zone) <= limit
    ]
    left_out = [day for day in stored if day not in compared_days]
    if isinstance(kind, SalesforceSourceSettings):
        at_source, requests = _salesforce_counts(settings, source, compared_days, zone)
    else:
        at_source, requests = _zendesk_counts(settings, source, compared_days, zone)
    compared = [DayCount(day, stored[day], at_source.get(day, 0)) for day in compared_days]
    return Reconciliation(
        source,
        compared,
        left_out,
        limit if limit is not None else datetime.min.replace(tzinfo=UTC),
        requests,
    )


def _bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(), zone), datetime.combine(
        day + timedelta(days=1), time(), zone
    )


def _zendesk_counts(
    settings: Settings, source: str, days: list[date], zone: ZoneInfo
) -> tuple[dict[date, int], int]:
    """Zendesk's search count of each day: one request a day."""
    with ZendeskConnector(settings.zendesk_config(source), settings.retry_policy()) as connector:
        found = {day: zendesk_created_count(connector, *_bounds(day, zone)) for day in days}
        return found, connector.usage.requests


def _salesforce_counts(
    settings: Settings, source: str, days: list[date], zone: ZoneInfo
) -> tuple[dict[date, int], int]:
    """Salesforce's counts of these days: one aggregate query over them all (and, for a
    zone other than UTC, one userinfo request), besides the login."""
    if not days:
        return {}, 0
    config = settings.salesforce_config(source)
    with SalesforceConnector(config, settings.retry_policy()) as connector:
        start, end = _bounds(days[0], zone)[0], _bounds(days[-1], zone)[1]
        found = salesforce_created_per_day(connector, start, end, settings.timezone)
        return found, connector.usage.requests
