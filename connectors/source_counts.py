"""The source's own counts, for `deskmetrics reconcile`: how many interactions it says were
created between two moments.

Owns `zendesk_created_count`: one request to Zendesk's search count endpoint,
`GET /api/v2/search/count.json?query=type:ticket created>=… created<…`, through the
connector's session (its retries, its usage count). Zendesk's search does not see deleted
tickets and indexes new ones with a lag of minutes: `reconcile` compares accordingly
(deskmetrics/reconcile.py).

And `salesforce_created_per_day`: one aggregate SOQL query counting the cases created (not
deleted: `query`, not `queryAll`) per day of a period, through the connector's client (its
retries, session renewal and usage count). SOQL's `convertTimezone` gives the day in the
API user's time zone, so a local day is asked for only when that zone is the settings' own
(one userinfo request says it); for UTC, DAY_ONLY of the stored UTC moment needs neither.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from connectors.http import call_with_retries
from connectors.salesforce import SalesforceConnector
from connectors.zendesk_surveys import ZendeskConnector
from interactions import ConfigError, MalformedRecordError

SEARCH_COUNT_PATH = "/api/v2/search/count.json"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_created_count(connector: ZendeskConnector, start: datetime, end: datetime) -> int:
    """Tickets Zendesk's search finds created in [start, end) (deleted ones are not)."""
    query = f"type:ticket created>={_iso(start)} created<{_iso(end)}"
    url = f"{connector._scheme}://{connector._netloc}{SEARCH_COUNT_PATH}"

    def call() -> Any:
        response = connector._session.get(
            url, params={"query": query}, timeout=connector.policy.timeout_seconds
        )
        return response.json()

    source = connector.config.source
    body = call_with_retries(f"{source} search count", call, connector.policy, connector.usage)
    count = body.get("count") if isinstance(body, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise MalformedRecordError(
            f"{source}: GET {SEARCH_COUNT_PATH} ({query}) answered without a count "
            f'({str(body)[:200]!r}); Zendesk answers {{"count": N}}. Try again later, or '
            "report it with this message."
        )
    return count


def salesforce_user_time_zone(connector: SalesforceConnector) -> str:
    """The API user's time zone (`zoneinfo` of /services/oauth2/userinfo)."""
    found = connector._call("userinfo", lambda sf: sf.oauth2("userinfo"))
    zone = found.get("zoneinfo") if isinstance(found, dict) else None
    if not isinstance(zone, str) or not zone:
        raise MalformedRecordError(
            f"{connector.config.source}: GET /services/oauth2/userinfo answered without a "
            f"zoneinfo ({str(found)[:200]!r}). Try again later, or report it with this message."
        )
    return zone


def salesforce_created_per_day(
    connector: SalesforceConnector, start: datetime, end: datetime, timezone: str
) -> dict[date, int]:
    """Cases Salesforce holds (not deleted) created in [start, end), per day of `timezone`
    (the settings' zone): UTC days, or the API user's days when that is the same zone."""
    source = connector.config.source
    day = "DAY_ONLY(CreatedDate)"
    if timezone != "UTC":
        zone = salesforce_user_time_zone(connector)
        if zone != timezone:
            raise ConfigError(
                f"{source}: Salesforce counts days in its API user's time zone {zone}, but "
                f"the settings' timezone is {timezone}, so its days are not the warehouse's. "
                f"Set the time zone of the API user of sources.{source} to {timezone} in "
                "Salesforce (Personal Information, Time Zone), or run reconcile with settings "
                'whose timezone is "UTC".'
            )
        day = "DAY_ONLY(convertTimezone(CreatedDate))"
    soql = (
        f"SELECT {day} d, COUNT(Id) n FROM Case WHERE CreatedDate >= {_iso(start)} "
        f"AND CreatedDate < {_iso(end)} GROUP BY {day}"
    )
    counts: dict[date, int] = {}
    for row in connector._rows(soql):
        try:
            counts[date.fromisoformat(row["d"])] = int(row["n"])
        except (KeyError, TypeError, ValueError):
            raise MalformedRecordError(
                f"{source}: a count per day answered a row without a day and a count "
                f"({str(row)[:200]!r}). Try again later, or report it with this message."
            ) from None
    return counts
