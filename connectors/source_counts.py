"""The source's own counts, for `deskmetrics reconcile`: how many interactions it says were
created, or resolved, and how many ratings it says were answered, between two moments.

Owns the Zendesk counts: `zendesk_search_count`, one request to Zendesk's search count
endpoint, `GET /api/v2/search/count.json?query=…`, through the connector's session (its
retries, its usage count), for the queries `zendesk_created_query` (`created` bounds) and
`zendesk_resolved_query` (`status>=solved` and `solved` bounds: tickets solved or closed now,
counted at their latest solve, which is the ticket metric set's `solved_at`). Zendesk's
search does not see deleted tickets and indexes changes with a lag of minutes: `reconcile`
compares accordingly (deskmetrics/reconcile.py). It cannot count ratings by the day they were
answered without listing them (a page of 100 at a time), so it does not.

And the Salesforce counts: `salesforce_per_day`, one aggregate SOQL query counting the
records of a `DayCounter` (the cases created, `CASES_CREATED`; the cases closed now, by
`ClosedDate`, `CASES_CLOSED`; the answers of a custom CSAT object by its answer date,
`salesforce_ratings_counter`) per day of a period, not deleted (`query`, not `queryAll`),
through the connector's client (its retries, session renewal and usage count). SOQL's
`convertTimezone` gives the day in the API user's time zone, so a local day is asked for only
when that zone is the settings' own (`salesforce_converts_days`: one userinfo request says
it); for UTC, DAY_ONLY of the stored UTC moment needs neither.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from connectors.http import call_with_retries
from connectors.salesforce_config import SalesforceConfig
from connectors.salesforce_csat import described_fields
from connectors.salesforce_records import identifier
from connectors.wire import server_text
from connectors.zendesk_surveys import ZendeskConnector
from interactions import ConfigError, MalformedRecordError

if TYPE_CHECKING:  # only a type here; the module loads simple-salesforce
    from connectors.salesforce import SalesforceConnector

SEARCH_COUNT_PATH = "/api/v2/search/count.json"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_created_query(start: datetime, end: datetime) -> str:
    """Tickets created in [start, end)."""
    return f"type:ticket created>={_iso(start)} created<{_iso(end)}"


def zendesk_resolved_query(start: datetime, end: datetime) -> str:
    """Tickets solved or closed now whose latest solve is in [start, end)."""
    return f"type:ticket status>=solved solved>={_iso(start)} solved<{_iso(end)}"


def zendesk_search_count(connector: ZendeskConnector, query: str) -> int:
    """The tickets Zendesk's search finds for `query` (deleted ones are not searched)."""
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
            f'({server_text(body)!r}); Zendesk answers {{"count": N}}. Try again later, or '
            "report it with this message."
        )
    return count


@dataclass(frozen=True)
class DayCounter:
    """Records Salesforce counts per day of one datetime field: `obj` rows meeting
    `condition` (SOQL, may be empty) whose `field` falls on the day."""

    obj: str
    field: str
    condition: str = ""
    # A Date field (a custom answer date) names a day already, in no time zone: it is
    # grouped and bounded as itself, never as a moment.
    date_only: bool = False


CASES_CREATED = DayCounter("Case", "CreatedDate")
# A reopened case is open again (IsClosed false): counted when it closes again, by then.
CASES_CLOSED = DayCounter("Case", "ClosedDate", "IsClosed = true")


def salesforce_ratings_counter(config: SalesforceConfig) -> DayCounter | str:
    """How the org's answered ratings are counted per day with one aggregate query, or why
    they cannot be (the ratings stream's rules: connectors/salesforce_csat.py)."""
    if config.csat_question:
        return (
            "Feedback Management answers reach their case through SurveySubject, which one "
            "aggregate query cannot follow"
        )
    if not config.csat_object:
        return "no CSAT source is configured"
    if config.csat_date_field.lower() == "createddate":
        return (
            "answers dated by CreatedDate may be dated by the score's field history instead, "
            "which one aggregate query cannot read"
        )
    fields = [
        identifier(name, key)
        for name, key in (
            (config.csat_object, "csat_object"),
            (config.csat_date_field, "csat_date_field"),
            (config.csat_case_field, "csat_case_field"),
            (config.csat_score_field, "csat_score_field"),
        )
    ]
    obj, answered, case, score = fields
    # A record with no score is an offer; one with no case belongs to a deleted case.
    return DayCounter(obj, answered, f"{case} != null AND {score} != null")


def salesforce_dated_counter(connector: SalesforceConnector, counter: DayCounter) -> DayCounter:
    """`counter`, told whether its field is a Date (one describe request)."""
    field = described_fields(connector._describe(counter.obj)).get(counter.field.lower()) or {}
    return replace(counter, date_only=field.get("type") == "date")


def salesforce_user_time_zone(connector: SalesforceConnector) -> str:
    """The API user's time zone (`zoneinfo` of /services/oauth2/userinfo)."""
    found = connector._call("userinfo", lambda sf: sf.oauth2("userinfo"))
    zone = found.get("zoneinfo") if isinstance(found, dict) else None
    if not isinstance(zone, str) or not zone:
        raise MalformedRecordError(
            f"{connector.config.source}: GET /services/oauth2/userinfo answered without a "
            f"zoneinfo ({server_text(found)!r}). Try again later, or report it with this message."
        )
    return zone


def salesforce_converts_days(connector: SalesforceConnector, timezone: str) -> bool:
    """Whether days of `timezone` (the settings' zone) are asked for with convertTimezone:
    no for UTC, yes when the API user's zone is it (one userinfo request), else refused."""
    if timezone == "UTC":
        return False
    zone = salesforce_user_time_zone(connector)
    if zone != timezone:
        source = connector.config.source
        raise ConfigError(
            f"{source}: Salesforce counts days in its API user's time zone {zone}, but "
            f"the settings' timezone is {timezone}, so its days are not the warehouse's. "
            f"Set the time zone of the API user of sources.{source} to {timezone} in "
            "Salesforce (Personal Information, Time Zone), or run reconcile with settings "
            'whose timezone is "UTC".'
        )
    return True


def salesforce_per_day(
    connector: SalesforceConnector,
    counter: DayCounter,
    start: datetime,
    end: datetime,
    converted: bool,
) -> dict[date, int]:
    """Records of `counter` Salesforce holds (not deleted) with its field in [start, end),
    per UTC day, or per day of the API user's zone when `converted`."""
    field = counter.field
    day = f"DAY_ONLY(convertTimezone({field}))" if converted else f"DAY_ONLY({field})"
    low, high = _iso(start), _iso(end)
    if counter.date_only:
        # Its days are the settings' days (connectors/salesforce_records.py `_answer_time`).
        day, low, high = field, f"{start.date()}", f"{end.date()}"
    condition = f"{counter.condition} AND " if counter.condition else ""
    soql = (
        f"SELECT {day} d, COUNT(Id) n FROM {counter.obj} WHERE {condition}{field} >= "
        f"{low} AND {field} < {high} GROUP BY {day}"
    )
    counts: dict[date, int] = {}
    for row in connector._rows(soql):
        try:
            counts[date.fromisoformat(row["d"])] = int(row["n"])
        except (KeyError, TypeError, ValueError):
            raise MalformedRecordError(
                f"{connector.config.source}: a count per day ({counter.obj}.{field}) answered "
                f"a row without a day and a count ({server_text(row)!r}). Try again later, or "
                "report it with this message."
            ) from None
    return counts
