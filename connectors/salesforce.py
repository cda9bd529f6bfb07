"""Salesforce Service Cloud connector: four streams, page by page, through simple-salesforce.

    agents        User                       whole each pass (an org has few)
    cases         Case by SystemModstamp     queryAll: deleted cases come with IsDeleted
    case_history  CaseHistory by CreatedDate the Owner and Status rows (it has no modstamp)
    ratings       the CSAT object or Feedback Management answers (connectors/salesforce_csat.py)

Before the first query it logs in, checks the CSAT settings against `describe`, and reads
which statuses are closed from `CaseStatus`. Cases and history are read in time windows:
a pass reads [from, to), `to` the server's clock when it began; the next pass starts an
overlap earlier (`sync.overlap_minutes`), so rows that commit late with an earlier stamp are
read then (Airbyte #27146). REST pages (up to 2,000 by `nextRecordsUrl`) are ordered by the
stamp and each stored page moves the cursor to the last stamp it held; a window holding
more than `bulk_threshold` records is read through Bulk API 2.0 instead
(connectors/salesforce_bulk.py), its job and locator in the cursor. `QUERY_TIMEOUT` halves
the window, `INVALID_QUERY_LOCATOR` queries again from the cursor, an expired session is
renewed once, `REQUEST_LIMIT_EXCEEDED` ends the run with the cursor saved, and past its
share of the daily allowance (`max_allowance_share`) a run stops after the page in hand.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import _Bulk2Client

from connectors import salesforce_bulk as bulk
from connectors.http import RetryPolicy, call_with_retries
from connectors.pagination import LoopGuard
from connectors.protocol import Cursor, Page
from connectors.salesforce_config import SalesforceConfig
from connectors.salesforce_csat import (
    CsatQuery,
    checked_custom_object,
    feedback_question,
    ratings_from_rows,
)
from connectors.salesforce_http import (
    BulkJobGoneError,
    QueryLocatorError,
    QueryTimeoutError,
    SalesforceUsage,
    SessionExpiredError,
    logged_in,
    salesforce_session,
)
from connectors.salesforce_records import (
    agent_from_user,
    changes_from_case_history,
    closed_statuses_from,
    interaction_from_case,
    is_user_id,
    parse_time,
)
from interactions import (
    Agent,
    AllowanceShareUsed,
    AuthenticationError,
    ConfigError,
    MalformedRecordError,
    Quarantined,
    SourceError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

STREAMS = ("agents", "cases", "case_history", "ratings")
CASE_FIELDS = (
    "Id", "OwnerId", "Status", "IsClosed", "IsDeleted", "ContactId", "SuppliedEmail",
    "ClosedDate", "CreatedDate", "LastModifiedDate", "SystemModstamp",
)  # fmt: skip
HISTORY_FIELDS = ("Id", "CaseId", "Field", "OldValue", "NewValue", "CreatedDate")
USER_FIELDS = ("Id", "Name", "Email", "IsActive", "LastModifiedDate", "SystemModstamp")
SMALLEST_WINDOW = timedelta(seconds=1)  # QUERY_TIMEOUT halves a window down to this
IDS_PER_QUERY = 500
QUARANTINE_RECORD_CHARS = 65536  # of a set-aside row kept as JSON text


class _Window:
    """One windowed stream: the object, its fields, the stamp it is read by."""

    def __init__(
        self,
        stream: str,
        obj: str,
        fields: Iterable[str],
        stamp: str,
        parse: Callable[[list[dict[str, Any]]], tuple[Any, ...]],
        include_deleted: bool = False,
        condition: str = "",
    ) -> None:
        self.stream, self.obj, self.stamp = stream, obj, stamp
        self.fields = ", ".join(fields)
        self.parse, self.include_deleted, self.condition = parse, include_deleted, condition

    def soql(self, start: datetime, end: datetime, ordered: bool) -> str:
        where = f"{self.stamp} >= {_soql_time(start)} AND {self.stamp} < {_soql_time(end)}"
        if self.condition:
            where = f"{self.condition} AND {where}"
        order = f" ORDER BY {self.stamp} ASC" if ordered else ""
        return f"SELECT {self.fields} FROM {self.obj} WHERE {where}{order}"


class SalesforceConnector:
    """Reads the streams of one Salesforce org (`config.source`); a `SourceConnector`."""

    streams: tuple[str, ...] = STREAMS

    def __init__(self, config: SalesforceConfig, policy: RetryPolicy) -> None:
        self.config = config
        self.policy = policy
        self.usage = SalesforceUsage()
        self._session = salesforce_session(config, self.usage, policy)
        self._instance = urlsplit(config.instance_url).netloc
        self._client: Salesforce | None = None
        self._closed: frozenset[str] | None = None
        self._csat: CsatQuery | None = None

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SalesforceConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------------

    def _logged_in(self) -> Salesforce:
        if self._client is None:
            session_id = logged_in(self.config, self._session, self.policy, self.usage)
            self._client = Salesforce(
                session_id=session_id,
                instance=self._instance,
                session=self._session,
                version=self.config.api_version,
            )
        return self._client

    def _call(self, what: str, call: Callable[[Salesforce], T]) -> T:
        """One request under the retry policy; an expired session is renewed and the request
        tried once more (simple-salesforce renews only REST calls of clients it logged in)."""
        where = f"{self.config.source} {what}"
        client = self._logged_in()
        try:
            return call_with_retries(where, lambda: call(client), self.policy, self.usage)
        except SessionExpiredError:
            log.info("%s: the Salesforce session expired; logging in again", self.config.source)
        self._client = None
        client = self._logged_in()
        try:
            return call_with_retries(where, lambda: call(client), self.policy, self.usage)
        except SessionExpiredError:
            raise AuthenticationError(
                f"{where}: Salesforce refused a session it had just given. Check that the API "
                f"user of sources.{self.config.source} may use the API (profile: API Enabled)."
            ) from None

    def _bulk_call(self, obj: str) -> bulk.Call:
        def call(what: str, request: Callable[[_Bulk2Client], Any]) -> Any:
            def with_client(client: Salesforce) -> Any:
                headers = {"Authorization": f"Bearer {client.session_id}", "X-PrettyPrint": "1"}
                return request(_Bulk2Client(obj, client.bulk2_url, headers, self._session))

            return self._call(f"{obj} {what}", with_client)

        return call

    def _query(self, soql: str, include_deleted: bool = False) -> dict[str, Any]:
        return self._call(
            f"query {soql.split(' WHERE ')[0][-60:]}",
            lambda sf: sf.query(soql, include_deleted=include_deleted),
        )

    def _query_more(self, url: str, include_deleted: bool) -> dict[str, Any]:
        return self._call(
            "next page",
            lambda sf: sf.query_more(url, identifier_is_url=True, include_deleted=include_deleted),
        )

    def _rows(self, soql: str) -> list[dict[str, Any]]:
        """Every row of a small query (a few pages at most)."""
        page = self._query(soql)
        rows = list(page.get("records") or [])
        guard = LoopGuard(self.config, "query")
        while page.get("done") is False:
            guard.followed(page["nextRecordsUrl"], None, len(page.get("records") or []))
            page = self._query_more(page["nextRecordsUrl"], False)
            rows.extend(page.get("records") or [])
        return rows

    def _ready(self) -> None:
        """Log in, check the CSAT settings against the org, read the closed statuses: every
        settings mistake is found before the first data query."""
        if self._closed is not None:
            return
        config = self.config
        if config.csat_object:
            try:
                described = self._call(
                    "describe", lambda sf: sf.restful(f"sobjects/{config.csat_object}/describe")
                )
            except ConfigError:
                raise ConfigError(
                    f"source {config.source!r}: csat_object = {config.csat_object!r} is not an "
                    "object of this org (describe found nothing). Set it to the API name of "
                    "the CSAT object (e.g. Case_Survey__c) in Setup > Object Manager."
                ) from None
            self._csat = checked_custom_object(config, described or {})
        elif config.csat_question:
            self._csat = feedback_question(config, self._rows)
        statuses = self._rows("SELECT MasterLabel, ApiName, IsClosed FROM CaseStatus")
        self._closed = closed_statuses_from(statuses)
        if not self._closed:
            raise SourceError(
                f"{config.source}: CaseStatus lists no closed status, so no case could count "
                "as resolved. Check that the API user may read CaseStatus."
            )

    def _server_now(self) -> datetime:
        return self.usage.last_server_time or datetime.now(UTC)

    def _parsed(self, window: _Window, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        try:
            return window.parse(rows)
        except (ValueError, TypeError) as bad:
            raise MalformedRecordError(
                f"{self.config.source} {window.stream}: a {window.obj} record cannot be read "
                f"({bad})."
            ) from None

    def _check_allowance(self) -> None:
        """Past the run's share of the daily allowance: stop after the page just stored."""
        allowance = self.usage.allowance
        if allowance is None or not allowance.limit:
            return
        share = self.config.max_allowance_share
        if allowance.used_by_run() >= share * allowance.limit:
            raise AllowanceShareUsed(
                f"{self.config.source}: this run used {allowance.used_by_run()} API requests, "
                f"its share ({share:g}, max_allowance_share) of the org's daily allowance of "
                f"{allowance.limit}; it stopped after the page in hand, whose cursor is saved. "
                "The next run goes on from there."
            )

    # --- streams -------------------------------------------------------------------------

    def pages(
        self, stream: str, cursor: Cursor | None, since: datetime, until: datetime | None
    ) -> Iterator[Page]:
        """The pages of one of `STREAMS` (connectors/protocol.py)."""
        if stream not in STREAMS:
            raise ValueError(f"Salesforce has no stream {stream!r}; its streams are {STREAMS}")
        self._ready()
        if stream == "agents":
            return self._checked(self.agent_pages())
        window = self._window(stream)
        if window is None:
            return iter([Page(stream, (), {}, True)])
        return self._checked(self.window_pages(window, cursor, since, until))

    def _checked(self, pages: Iterator[Page]) -> Iterator[Page]:
        for page in pages:
            yield page
            if not page.done:
                self._check_allowance()

    def _window(self, stream: str) -> _Window | None:
        source, closed = self.config.source, self._closed or frozenset()
        key = self.config.customer_hash_key
        if stream == "cases":
            return _Window(
                stream,
                "Case",
                CASE_FIELDS,
                "SystemModstamp",
                lambda rows: tuple(
                    interaction_from_case(source, row, closed, email_key=key) for row in rows
                ),
                include_deleted=True,
            )
        if stream == "case_history":
            return _Window(
                stream,
                "CaseHistory",
                HISTORY_FIELDS,
                "CreatedDate",
                lambda rows: tuple(changes_from_case_history(source, rows, closed)),
            )
        csat = self._csat
        if csat is None:
            return None
        return _Window(
            stream,
            csat.obj,
            csat.fields,
            csat.stamp,
            lambda rows: ratings_from_rows(self.config, csat, rows, self._rows),
            condition=csat.condition,
        )

    def check(self) -> str:
        """Log in, check the CSAT settings against the org and read its closed statuses
        (`deskmetrics check`): what a sync needs before its first data query."""
        self._ready()
        csat = f"CSAT from {self._csat.obj}" if self._csat is not None else "no CSAT source set"
        closed = ", ".join(sorted(self._closed or ()))
        return f"logged in ({self.config.auth}); {csat}; closed statuses: {closed}"

    def agent_pages(self) -> Iterator[Page]:
        """Every user, read whole each pass: whoever owns a case is an agent."""
        page = self._query(f"SELECT {', '.join(USER_FIELDS)} FROM User")
        guard = LoopGuard(self.config, "agents")
        while True:
            rows = page.get("records") or []
            agents = tuple(self._agents(rows))
            if page.get("done") is not False:
                yield Page("agents", agents, {}, True, read=len(rows))
                return
            guard.followed(page["nextRecordsUrl"], None, len(rows))
            yield Page("agents", agents, {}, False, read=len(rows))
            page = self._query_more(page["nextRecordsUrl"], False)

    def _agents(self, rows: Iterable[dict[str, Any]]) -> Iterator[Agent]:
        for row in rows:
            if is_user_id(row.get("Id")):  # an org's automated users are users too
                yield agent_from_user(self.config.source, row)

    def agents_by_id(self, agent_ids: Iterable[str]) -> list[Agent]:
        """Users who own cases but were not in the pass's user list."""
        self._ready()
        wanted = sorted({i for i in agent_ids if is_user_id(i)})
        found: list[Agent] = []
        for start in range(0, len(wanted), IDS_PER_QUERY):
            listed = ", ".join(f"'{i}'" for i in wanted[start : start + IDS_PER_QUERY])
            rows = self._rows(f"SELECT {', '.join(USER_FIELDS)} FROM User WHERE Id IN ({listed})")
            found.extend(self._agents(rows))
        return found

    def window_pages(
        self, window: _Window, cursor: Cursor | None, since: datetime, until: datetime | None
    ) -> Iterator[Page]:
        """The pages of one pass over a windowed stream, from `cursor`.

        Cursor of a pass in progress: `from`/`to` (the pass's window), `at` (everything
        stamped before it is stored), `span` (the window size after a QUERY_TIMEOUT), and
        `job`/`locator` of a Bulk read in progress. After a finished pass: `from` only.
        """
        cursor = cursor or {}
        start = _cursor_time(cursor, "from") or since
        end = _cursor_time(cursor, "to") or min(until or self._server_now(), self._server_now())
        end = max(end, start)
        state: dict[str, Any] = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "at": cursor.get("at") or start.isoformat(),
            "span": cursor.get("span"),
            "job": cursor.get("job"),
            "locator": cursor.get("locator") or "",
        }
        last: Page | None = None
        for page in self._window_pages(window, state, end):
            if last is not None:
                yield last
            last = page
        following = {"from": max(start, end - self.config.overlap).isoformat()}
        # METRICS.md "Resolution and FCR": Salesforce's high-water mark is the upper end of
        # the SystemModstamp window read (never raised by a bounded backfill).
        mark = end if window.stream == "cases" and until is None else None
        records, read = (last.records, last.read) if last is not None else ((), 0)
        yield Page(window.stream, records, following, True, mark, end, read)

    def _window_pages(
        self, window: _Window, state: dict[str, Any], end: datetime
    ) -> Iterator[Page]:
        at = datetime.fromisoformat(state["at"])
        while at < end:
            span = timedelta(seconds=state["span"]) if state["span"] else None
            upper = min(end, at + span) if span else end
            if state["job"]:
                yield from self._bulk_pages(window, state, at, upper)
            else:
                try:
                    first = self._query(window.soql(at, upper, True), window.include_deleted)
                except QueryTimeoutError:
                    state["span"] = _halved(window, at, upper)
                    continue
                if int(first.get("totalSize") or 0) > self.config.bulk_threshold:
                    log.info(
                        "%s %s: %s records in the window: reading it through Bulk API 2.0",
                        self.config.source,
                        window.stream,
                        first.get("totalSize"),
                    )
                    state["job"] = bulk.start_job(
                        self._bulk_call(window.obj),
                        window.soql(at, upper, False),
                        window.include_deleted,
                    )
                    state["locator"] = ""
                    state["job_to"] = upper.isoformat()
                    yield from self._bulk_pages(window, state, at, upper)
                else:
                    yield from self._rest_pages(window, state, first, at, upper)
            at = datetime.fromisoformat(state["at"])

    def _rest_pages(
        self,
        window: _Window,
        state: dict[str, Any],
        page: dict[str, Any],
        at: datetime,
        upper: datetime,
    ) -> Iterator[Page]:
        guard = LoopGuard(self.config, window.stream)
        while True:
            rows = page.get("records") or []
            finished = page.get("done") is not False
            if finished:
                state["at"] = upper.isoformat()
            elif rows:
                stamp = parse_time(rows[-1].get(window.stamp))
                if stamp is not None and stamp > at:
                    state["at"] = stamp.isoformat()  # rows stamped alike are read again
            yield self._page(window, rows, state)
            if finished:
                return
            link = page["nextRecordsUrl"]
            guard.followed(link, None, len(rows))
            try:
                page = self._query_more(link, window.include_deleted)
            except QueryLocatorError:
                log.warning(
                    "%s %s: the next-page link expired; querying again from %s",
                    self.config.source,
                    window.stream,
                    state["at"],
                )
                return

    def _bulk_pages(
        self, window: _Window, state: dict[str, Any], at: datetime, upper: datetime
    ) -> Iterator[Page]:
        call = self._bulk_call(window.obj)
        job_to = datetime.fromisoformat(state.get("job_to") or upper.isoformat())
        try:
            bulk.wait_for_job(call, state["job"], self.policy.sleep)
            for result in bulk.result_pages(
                call, state["job"], state["locator"], self.config.bulk_page_records
            ):
                state["locator"] = result.next_locator
                if not result.next_locator:
                    state.update(job=None, locator="", at=job_to.isoformat())
                    state.pop("job_to", None)
                yield self._page(window, result.rows, state)
        except BulkJobGoneError:
            log.warning("%s %s: the Bulk job expired; querying again", self.config.source, at)
            state.update(job=None, locator="")
            state.pop("job_to", None)

    def _page(self, window: _Window, rows: list[dict[str, Any]], state: dict[str, Any]) -> Page:
        try:
            records = self._parsed(window, rows)
        except MalformedRecordError:
            if self.config.bad_records != "quarantine":
                raise
            # Row by row, so that only the rows that cannot be read are set aside.
            records = ()
            for row in rows:
                try:
                    records += self._parsed(window, [row])
                except MalformedRecordError as bad:
                    records += (quarantined(self.config.source, window.stream, row, str(bad)),)
        reached = datetime.fromisoformat(state["at"])
        return Page(window.stream, records, dict(state), False, reached=reached, read=len(rows))


def quarantined(source: str, stream: str, row: dict[str, Any], error: str) -> Quarantined:
    """A row that cannot be read, set aside with the error and the row as received."""
    return Quarantined(
        source=source,
        stream=stream,
        record_id=str(row.get("Id"))[:200],
        error=error,
        record=json.dumps(row, default=str, sort_keys=True)[:QUARANTINE_RECORD_CHARS],
        seen_at=datetime.now(UTC),
    )


def _soql_time(moment: datetime) -> str:
    """A SOQL datetime literal, in UTC, to the millisecond (Salesforce keeps milliseconds)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _cursor_time(cursor: Cursor, key: str) -> datetime | None:
    value = cursor.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _halved(window: _Window, at: datetime, upper: datetime) -> float:
    """The window size after a QUERY_TIMEOUT on [at, upper): half, down to a second."""
    half = (upper - at) / 2
    if half < SMALLEST_WINDOW:
        raise SourceError(
            f"{window.obj}: Salesforce timed out on a window of {upper - at} (QUERY_TIMEOUT) "
            "and a smaller one cannot be read. Run again later; if it repeats, ask "
            "Salesforce support about the object's query performance."
        )
    log.warning("%s: QUERY_TIMEOUT; reading windows of %s instead", window.obj, half)
    return half.total_seconds()
