"""Salesforce Service Cloud connector: four streams, page by page, through simple-salesforce.

    agents        User                       whole each pass (an org has few)
    cases         Case by SystemModstamp     queryAll: deleted cases come with IsDeleted;
                                             Get Deleted: those purged since (each sync)
    case_history  CaseHistory by CreatedDate the Owner and Status rows (it has no modstamp),
                                             queryAll: a deleted case's too
    ratings       the CSAT object or Feedback Management answers (connectors/salesforce_csat.py)

Before the first data query it logs in, checks the CSAT settings against `describe`, and
reads the case statuses from `CaseStatus`: the org's facts (connectors/salesforce_org.py),
kept in the streams' cursors (`org`), so a run that goes on where another stopped does not
ask for them again. Cases, history and answers are read in time windows by
connectors/salesforce_windows.py (REST pages, or one Bulk API 2.0 job for a large window),
through this module's requests: each goes through the one retry policy, an expired session
is renewed once, `REQUEST_LIMIT_EXCEEDED` ends the run with the cursor saved, and past its
share of the daily allowance (`max_allowance_share`) a run stops after the page in hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import _Bulk2Client
from simple_salesforce.exceptions import SalesforceError

from connectors import salesforce_bulk as bulk
from connectors.http import RetryPolicy, call_with_retries
from connectors.pagination import LoopGuard
from connectors.protocol import Cursor, Page
from connectors.salesforce_config import STREAMS, SalesforceConfig
from connectors.salesforce_csat import CsatJoins, ratings_from_rows
from connectors.salesforce_deleted import deleted_span, removed_cases
from connectors.salesforce_http import (
    SalesforceUsage,
    SessionExpiredError,
    logged_in,
    salesforce_session,
)
from connectors.salesforce_org import OrgFacts, case_statuses, kept_facts, learn_org
from connectors.salesforce_records import (
    agent_from_user,
    changes_from_case_history,
    interaction_from_case,
    is_user_id,
)
from connectors.salesforce_windows import Window, WindowReader
from interactions import (
    Agent,
    AllowanceExhaustedError,
    AllowanceShareUsed,
    AuthenticationError,
    ConfigError,
    Interaction,
    Removed,
    SourceError,
    SourceUnavailableError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

CASE_FIELDS = (
    "Id", "OwnerId", "Status", "IsClosed", "IsDeleted", "ContactId", "SuppliedEmail",
    "ClosedDate", "CreatedDate", "LastModifiedDate", "SystemModstamp",
)  # fmt: skip
HISTORY_FIELDS = ("Id", "CaseId", "Field", "OldValue", "NewValue", "CreatedDate")
USER_FIELDS = ("Id", "Name", "Email", "IsActive", "LastModifiedDate", "SystemModstamp")
IDS_PER_QUERY = 500


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
        self._org: OrgFacts | None = None
        self._org_unsaved = False  # learned by this run and in no stored cursor yet
        self._statuses_reread = False  # CaseStatus read again this run (a status unknown)
        self._joins = CsatJoins(config, self._rows)
        self._windows = WindowReader(
            config, self._query, self._query_more, self._bulk_call, self._bulk_wait,
            self._server_now,
        )  # fmt: skip

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
            return self._retried(where, lambda: call(client))
        except SessionExpiredError:
            log.info("%s: the Salesforce session expired; logging in again", self.config.source)
        self._client = None
        client = self._logged_in()
        try:
            return self._retried(where, lambda: call(client))
        except SessionExpiredError:
            raise AuthenticationError(
                f"{where}: Salesforce refused a session it had just given. Check that the API "
                f"user of sources.{self.config.source} may use the API (profile: API Enabled)."
            ) from None

    def _retried(self, where: str, call: Callable[[], T]) -> T:
        try:
            return call_with_retries(where, call, self.policy, self.usage)
        except SalesforceError as refused:
            # A backstop: the session's hook sorts every answer before the library sees it.
            # The library's message quotes the answer, records and all, so it is not shown.
            raise SourceError(
                f"{where}: the Salesforce client refused an answer ({type(refused).__name__}, "
                f"status {refused.status}). Run again; if it repeats, please report it."
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
        guard = LoopGuard(self.config, "query", expected=page.get("totalSize"))
        guard.counted(len(rows))
        while page.get("done") is False:
            guard.followed(page["nextRecordsUrl"], None, len(page.get("records") or []))
            page = self._query_more(page["nextRecordsUrl"], False)
            rows.extend(page.get("records") or [])
            guard.counted(len(page.get("records") or []))
        guard.ended()
        return rows

    def recall(self, cursors: Mapping[str, Cursor | None]) -> None:
        """Take the org's facts from the first saved cursor that keeps fresh ones for these
        settings (connectors/salesforce_org.py)."""
        for cursor in cursors.values():
            if self._org is None and cursor:
                self._org = kept_facts(cursor.get("org"), self.config, datetime.now(UTC))

    def _ready(self) -> OrgFacts:
        """The org's facts, learned if no cursor kept them: every settings mistake is found
        before the first data query."""
        if self._org is None:
            self._org = learn_org(self.config, self._describe, self._rows)
            self._org_unsaved = True
        return self._org

    def _describe(self, obj: str) -> dict[str, Any]:
        described = self._call("describe", lambda sf: sf.restful(f"sobjects/{obj}/describe"))
        return described if isinstance(described, dict) else {}

    def _statuses_again(self) -> bool:
        """Read `CaseStatus` again, once a run, after a record named a status it did not
        list (a status added since): True when that changed what is known."""
        org = self._ready()
        if self._statuses_reread:
            return False
        self._statuses_reread = True
        statuses = case_statuses(self.config, self._rows)
        self._org = replace(org, statuses=statuses, learned_at=datetime.now(UTC))
        return statuses != org.statuses

    def _server_now(self) -> datetime:
        """The org's clock (the `Date` of its last answer). Before any answer of this run
        (a resumed run sets a window's end before its first request), the login asks: a
        window never ends on this machine's clock, which may run ahead of the org's."""
        if self.usage.last_server_time is None:
            self._logged_in()
        return self.usage.last_server_time or datetime.now(UTC)

    def _bulk_wait(self, seconds: float) -> None:
        """The wait between polls of a Bulk job, within the run's bounds: a stop asked for,
        or the run's deadline, ends it (the job is started again by the next run)."""
        policy = self.policy
        left = None if policy.run_deadline is None else policy.run_deadline - time.monotonic()
        if (policy.stop is not None and policy.stop.is_set()) or (
            left is not None and left < seconds
        ):
            raise SourceUnavailableError(
                f"{self.config.source}: the run ended (a stop was asked for, or its time "
                f"bound {policy.run_bound}) while a Bulk query job was still running; the "
                "next run polls the same job again."
            )
        policy.sleep(seconds)

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
        own = dict(cursor or {})
        kept = own.pop("org", None)
        if self._org is None:
            self._org = kept_facts(kept, self.config, datetime.now(UTC))
        self._ready()  # every settings mistake is found before the first data query
        if stream == "agents":
            return self._checked(stream, self.agent_pages(), own)
        window = self._window(stream)
        if window is None:
            return iter([Page(stream, (), {}, True)])
        return self._checked(stream, self._windows.pages(window, own or None, since, until), own)

    def _checked(self, stream: str, pages: Iterator[Page], cursor: Cursor) -> Iterator[Page]:
        """The pages, with a stop once the run has used its share of the allowance: before
        the stream's first request, and after each page is stored. Every page carries the
        org's facts; facts this run learned are stored first, on a page of their own
        (`cursor`: where the stream starts), so a run stopped before its first page of
        records does not cost the next one the same requests again."""
        if self._org_unsaved:
            self._org_unsaved = False
            yield Page(stream, (), {**cursor, "org": self._ready().kept()}, False)
        self._check_allowance()
        for page in pages:
            yield replace(page, cursor={**page.cursor, "org": self._ready().kept()})
            self._check_allowance()

    def _window(self, stream: str) -> Window | None:
        source, key = self.config.source, self.config.customer_hash_key
        # The statuses are looked up at each page: a status read again counts from then on.
        if stream == "cases":

            def cases(rows: list[dict[str, Any]]) -> tuple[Interaction, ...]:
                statuses = self._ready().statuses  # once a page, not once a row
                return tuple(
                    interaction_from_case(source, row, statuses, email_key=key) for row in rows
                )

            return Window(
                stream,
                "Case",
                CASE_FIELDS,
                "SystemModstamp",
                cases,
                include_deleted=True,
                unknown_status=self._statuses_again,
                removed=self._purged_cases,
            )
        if stream == "case_history":
            return Window(
                stream,
                "CaseHistory",
                HISTORY_FIELDS,
                "CreatedDate",
                lambda rows: tuple(changes_from_case_history(source, rows, self._ready().statuses)),
                # A deleted case's rows are deleted with it, and restored with it, with their
                # old CreatedDate: read them while deleted, or an undeleted case has none.
                include_deleted=True,
                unknown_status=self._statuses_again,
            )
        csat = self._ready().csat
        if csat is None:
            return None
        return Window(
            stream,
            csat.obj,
            csat.fields,
            csat.stamp,
            lambda rows: ratings_from_rows(self.config, csat, rows, self._joins),
            condition=csat.condition,
            include_deleted=csat.include_deleted,
            one_record_a_row=True,
        )

    def _purged_cases(self, start: datetime, end: datetime) -> tuple[Removed, ...]:
        """The cases deleted in a sync's window, purged or not (connectors/salesforce_deleted.py).
        An org that does not answer (a refusal, a stand-in without the resource) is logged
        and the sync goes on: the deletions it misses are those queryAll misses too."""
        span = deleted_span(self.config.source, start, end, self.config.overlap)
        if span is None:
            return ()
        try:
            low, high = (moment.isoformat(timespec="seconds") for moment in span)
            answer = self._call(
                "deleted cases",
                lambda sf: sf.restful("sobjects/Case/deleted/", {"start": low, "end": high}),
            )
        except (AuthenticationError, AllowanceExhaustedError, SourceUnavailableError):
            raise
        except (ConfigError, SourceError) as refused:
            log.warning(
                "%s: Salesforce did not list the deleted cases (%s); a case purged from the "
                "Recycle Bin since it was read may still count.",
                self.config.source,
                refused,
            )
            return ()
        found = answer if isinstance(answer, dict) else {}
        return removed_cases(self.config.source, found, span[0])

    def check(self) -> str:
        """Log in, check the CSAT settings against the org and read its closed statuses
        (`deskmetrics check`): what a sync needs before its first data query."""
        org = self._ready()
        csat = "no CSAT source set"
        if org.csat is not None:
            csat = f"CSAT from {org.csat.obj}" + (f" ({org.csat.note})" if org.csat.note else "")
        closed = ", ".join(sorted(org.statuses.closed))
        return f"logged in ({self.config.auth}); {csat}; closed statuses: {closed}"

    def agent_pages(self) -> Iterator[Page]:
        """Every user, read whole each pass: whoever owns a case is an agent."""
        page = self._query(f"SELECT {', '.join(USER_FIELDS)} FROM User")
        guard = LoopGuard(self.config, "agents", expected=page.get("totalSize"))
        while True:
            rows = page.get("records") or []
            guard.counted(len(rows))
            agents = tuple(self._agents(rows))
            if page.get("done") is not False:
                guard.ended()  # a list cut short is not the whole list of users
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
        wanted = sorted({i for i in agent_ids if is_user_id(i)})
        found: list[Agent] = []
        for start in range(0, len(wanted), IDS_PER_QUERY):
            listed = ", ".join(f"'{i}'" for i in wanted[start : start + IDS_PER_QUERY])
            rows = self._rows(f"SELECT {', '.join(USER_FIELDS)} FROM User WHERE Id IN ({listed})")
            found.extend(self._agents(rows))
        return found
