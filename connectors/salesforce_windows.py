"""Reading one windowed Salesforce stream: a pass over `[from, to)` of a stamp, page by page.

REST pages (up to 2,000, by `nextRecordsUrl`) come ordered by the stamp, and each stored page
moves the cursor to the last stamp it held, so a run stopped anywhere goes on from there; a
window holding more than `bulk_threshold` records is read as one Bulk API 2.0 job instead
(connectors/salesforce_bulk.py), its job and locator in the cursor. `QUERY_TIMEOUT` halves
the window; `INVALID_QUERY_LOCATOR` queries again from the cursor; the next pass starts an
overlap before this one's end, so rows that commit late with an earlier stamp are read then
(research "Settled since": Airbyte #27146). The requests themselves are the connector's
(connectors/salesforce.py): this module knows no session, login or allowance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors import salesforce_bulk as bulk
from connectors.pagination import LoopGuard
from connectors.protocol import Cursor, Page
from connectors.salesforce_config import SalesforceConfig
from connectors.salesforce_http import BulkJobGoneError, QueryLocatorError, QueryTimeoutError
from connectors.salesforce_records import (
    PERSONAL_FIELDS,
    UnknownStatusError,
    hashed_email,
    parse_time,
)
from interactions import CursorStuckError, MalformedRecordError, Quarantined, Rating, SourceError

log = logging.getLogger(__name__)

SMALLEST_WINDOW = timedelta(seconds=1)  # QUERY_TIMEOUT halves a window down to this
MAX_STALLED_PASSES = 3  # queries from one moment that end early (`_rest_pages`), at the most
# What a pass keeps of a Bulk job in its cursor, and the values it has without one.
_NO_JOB: dict[str, Any] = {
    "job": None,
    "job_to": None,
    "job_done": False,
    "job_total": None,
    "job_read": 0,
    "locator": "",
}

Query = Callable[[str, bool], dict[str, Any]]


class Window:
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
        unknown_status: Callable[[], bool] | None = None,
        one_record_a_row: bool = False,
        removed: Callable[[datetime, datetime], tuple[Any, ...]] | None = None,
    ) -> None:
        """`unknown_status`: what to do when a row names a status the org did not list (read
        the statuses again: True when that may help); `one_record_a_row`: a row that makes no
        record is left out on purpose (an offer, an answer of no case), counted as such;
        `removed`: the records of what was deleted for good in a sync's window (`[from,
        to]`), stored with the pass's last page."""
        self.stream, self.obj, self.stamp = stream, obj, stamp
        self.names = tuple(fields)
        self.fields = ", ".join(self.names)
        self.parse, self.include_deleted, self.condition = parse, include_deleted, condition
        self.unknown_status, self.one_record_a_row = unknown_status, one_record_a_row
        self.removed = removed

    def soql(self, start: datetime, end: datetime, ordered: bool) -> str:
        where = f"{self.stamp} >= {_soql_time(start)} AND {self.stamp} < {_soql_time(end)}"
        if self.condition:
            where = f"{self.condition} AND {where}"
        order = f" ORDER BY {self.stamp} ASC" if ordered else ""
        return f"SELECT {self.fields} FROM {self.obj} WHERE {where}{order}"


class WindowReader:
    """Reads windowed streams of one org through the connector's requests."""

    def __init__(
        self,
        config: SalesforceConfig,
        query: Query,
        query_more: Query,
        bulk_call: Callable[[str], bulk.Call],
        bulk_wait: Callable[[float], None],
        server_now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self._query, self._query_more = query, query_more
        self._bulk_call, self._bulk_wait, self._server_now = bulk_call, bulk_wait, server_now

    def _parsed(self, window: Window, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        try:
            return self._read(window, rows)
        except UnknownStatusError:
            if window.unknown_status is None or not window.unknown_status():
                raise
            return self._read(window, rows)  # a status added since the statuses were read

    def _read(self, window: Window, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        try:
            return window.parse(rows)
        except (ValueError, TypeError) as bad:
            raise MalformedRecordError(
                f"{self.config.source} {window.stream}: a {window.obj} record cannot be read "
                f"({bad})."
            ) from None

    def pages(
        self, window: Window, cursor: Cursor | None, since: datetime, until: datetime | None
    ) -> Iterator[Page]:
        """The pages of one pass over a windowed stream, from `cursor`.

        Cursor of a pass in progress: `from`/`to` (the pass's window), `at` (everything
        stamped before it is stored), `span` (the window size after a QUERY_TIMEOUT), and of
        a Bulk read in progress `job`, `job_to` (the end of the window it answers),
        `job_done` and `job_total` (polled complete, and its record count), `job_read` and
        `locator` (the records read and the next result page). After a finished pass:
        `from` only.
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
            **_NO_JOB,
            **{key: cursor[key] for key in _NO_JOB if cursor.get("job") and key in cursor},
        }
        # Each page goes out as soon as it is made: holding one back to mark it the last
        # would keep two pages in memory.
        yield from self._window_pages(window, state, end)
        following = {"from": max(start, end - self.config.overlap).isoformat()}
        # docs/metrics.md "Resolution and first-contact resolution (FCR)": Salesforce's
        # high-water mark is the upper end of the SystemModstamp window read (never raised
        # by a bounded backfill).
        mark = end if window.stream == "cases" and until is None else None
        # What a sync's window deleted for good is known only by asking. A backfill, and a
        # first pass, read records as they are now: a purged one is not there to remove.
        removed = window.removed if until is None and cursor.get("from") is not None else None
        gone = removed(start, end) if removed is not None else ()
        yield Page(window.stream, gone, following, True, mark, end)

    def _window_pages(self, window: Window, state: dict[str, Any], end: datetime) -> Iterator[Page]:
        at = datetime.fromisoformat(state["at"])
        stalled = 0  # REST passes in a row that ended early without moving `at`
        while at < end:
            span = timedelta(seconds=state["span"]) if state["span"] else None
            upper = min(end, at + span) if span else end
            if state["job"]:
                yield from self._bulk_pages(window, state, upper)
            else:
                try:
                    first = self._query(window.soql(at, upper, True), window.include_deleted)
                except QueryTimeoutError:
                    state["span"] = _halved(window, at, upper)
                    continue
                total = int(first.get("totalSize") or 0)
                if total > self.config.bulk_threshold:
                    # More than the threshold: one Bulk job reads the window instead (and
                    # the REST page that said so is let go before the job's pages come).
                    del first
                    log.info(
                        "%s %s: %s records in the window: reading it through Bulk API 2.0",
                        self.config.source,
                        window.stream,
                        total,
                    )
                    job = bulk.start_job(
                        self._bulk_call(window.obj),
                        window.soql(at, upper, False),
                        window.include_deleted,
                    )
                    state.update(_NO_JOB, job=job, job_to=upper.isoformat())
                    # Stored at once: a run stopped from here on polls or reads this job
                    # instead of probing the window and starting another.
                    yield self._page(window, [], state)
                    yield from self._bulk_pages(window, state, upper, started=True)
                else:
                    pages = self._rest_pages(window, state, first, at, upper)
                    del first  # the pages hold it, and let it go page by page
                    yield from pages
            moved = datetime.fromisoformat(state["at"])
            stalled = stalled + 1 if moved == at and not state["job"] else 0
            if stalled > MAX_STALLED_PASSES:
                raise CursorStuckError(
                    f"{self.config.source} {window.stream}: {stalled} queries in a row from "
                    f"{at.isoformat()} ended early (an expired next-page link, or fewer records "
                    "than the query said it holds) before any record moved the cursor; "
                    "stopping this stream with its cursor kept. Run again later; if it "
                    "repeats, report it."
                )
            at = moved

    def _rest_pages(
        self,
        window: Window,
        state: dict[str, Any],
        page: dict[str, Any],
        at: datetime,
        upper: datetime,
    ) -> Iterator[Page]:
        guard = LoopGuard(self.config, window.stream, expected=page.get("totalSize"))
        while True:
            rows = page.get("records") or []
            finished = page.get("done") is not False
            link = None if finished else str(page["nextRecordsUrl"])
            del page  # one page in memory: this one goes before the next is asked for
            guard.counted(len(rows))
            cut_short = finished and guard.cut_short()
            if cut_short:
                # Done before the records the query said it holds: the window is read again
                # from the last stamp stored (`_window_pages`), never taken as read.
                log.warning(
                    "%s %s: the query said it holds %s records and ended after %s; querying "
                    "again from the last record stored",
                    self.config.source,
                    window.stream,
                    guard.expected,
                    guard.read,
                )
            if finished and not cut_short:
                state["at"] = upper.isoformat()
            elif rows:
                stamp = _stamp_of(rows[-1], window.stamp)
                if stamp is not None and stamp > at:
                    state["at"] = stamp.isoformat()  # rows stamped alike are read again
            read = len(rows)
            yield self._page(window, rows, state)
            del rows
            if link is None:
                return
            guard.followed(link, None, read)
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
        self, window: Window, state: dict[str, Any], upper: datetime, started: bool = False
    ) -> Iterator[Page]:
        """The pages of the job in `state` (`started`: just now, so not complete yet)."""
        call = self._bulk_call(window.obj)
        job_to = datetime.fromisoformat(state.get("job_to") or upper.isoformat())
        try:
            if not state["job_done"]:
                try:
                    total = bulk.wait_for_job(call, state["job"], self._bulk_wait, started)
                except bulk.BulkJobFailedError:
                    # Stored without the job before the run stops: a failed job's results
                    # never come, and the next run would otherwise poll it again and again.
                    state.update(_NO_JOB)
                    yield self._page(window, [], state)
                    raise
                state.update(job_done=True, job_total=total)
                # Stored at once: a run stopped from here reads the results without a poll.
                yield self._page(window, [], state)
            guard = LoopGuard(
                self.config,
                f"{window.stream} Bulk job {state['job']}",
                expected=state["job_total"],
                read=int(state["job_read"] or 0),
            )
            for result in bulk.result_pages(
                call,
                state["job"],
                state["locator"],
                self.config.bulk_page_records,
                guard,
                window.names,
            ):
                state.update(locator=result.next_locator, job_read=guard.read)
                if not result.next_locator:
                    state.update(_NO_JOB, at=job_to.isoformat())
                yield self._page(window, result.rows, state)
                del result  # let the page go before the next is asked for
        except BulkJobGoneError:
            log.warning(
                "%s %s: the Bulk job expired; querying again", self.config.source, window.stream
            )
            state.update(_NO_JOB)

    def _page(self, window: Window, rows: list[dict[str, Any]], state: dict[str, Any]) -> Page:
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
                    records += (
                        Quarantined.of(
                            self.config.source, window.stream, self._kept(window, row), "Id",
                            str(bad), datetime.now(UTC),
                        ),
                    )  # fmt: skip
        reached = datetime.fromisoformat(state["at"])
        # Offers are stored (an earlier answer of the record is withdrawn) but count nowhere.
        counted = sum(not isinstance(r, Rating) or r.is_answer for r in records)
        left_out = len(rows) - counted if window.one_record_a_row else 0
        return Page(
            window.stream, records, dict(state), False, reached=reached, read=len(rows),
            left_out=left_out,
        )  # fmt: skip

    def _kept(self, window: Window, row: dict[str, Any]) -> dict[str, Any]:
        """What a set-aside row keeps: the fields deskmetrics asked for, a customer's
        address as its keyed hash (docs/salesforce.md "Privacy"), never anything else."""
        kept = {name: row.get(name) for name in window.names}
        for name in PERSONAL_FIELDS:
            address = kept.get(name)
            if address not in (None, ""):
                kept[name] = hashed_email(str(address), self.config.customer_hash_key)
        return kept


def _soql_time(moment: datetime) -> str:
    """A SOQL datetime literal, in UTC, to the millisecond (Salesforce keeps milliseconds)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _stamp_of(row: dict[str, Any], field: str) -> datetime | None:
    """A row's stamp, None when it cannot be read (the row's parse says what is wrong)."""
    try:
        return parse_time(row.get(field))
    except ValueError:
        return None


def _cursor_time(cursor: Cursor, key: str) -> datetime | None:
    value = cursor.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _halved(window: Window, at: datetime, upper: datetime) -> float:
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
