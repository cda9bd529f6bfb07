"""Reading one query through Bulk API 2.0, a result page at a time (research 1.4).

    POST jobs/query {operation: queryAll}  →  GET jobs/query/{id} until JobComplete
    →  GET jobs/query/{id}/results?maxRecords=N[&locator=L]  (CSV, `Sforce-Locator`)

simple-salesforce's `query_all` sleeps 5 s before its first poll and yields pages only from
the start of a job; here the job, the poll and each result page are separate calls, so a
run can stop after any page and the next one go on from the job and locator saved in the
cursor (a job's results stay readable for 7 days). Only one CSV page is held at a time:
memory does not grow with the result (peers' blow-ups: simple-salesforce #629, #428).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from simple_salesforce.bulk2 import Operation, _Bulk2Client

from connectors.pagination import LoopGuard
from connectors.salesforce_http import LOCATOR_NOT_GIVEN
from connectors.wire import RetriableHTTPError
from interactions import SourceError

log = logging.getLogger(__name__)

# Waits between polls of a running job: from 0.5 s, doubling, at most 30 s; at most this
# many polls (about 4 hours) before the job is given up as stuck.
FIRST_POLL_WAIT = 0.5
MAX_POLL_WAIT = 30.0
MAX_POLLS = 500
_FINISHED = {"JobComplete", "Failed", "Aborted"}

Call = Callable[[str, Callable[[_Bulk2Client], Any]], Any]


@dataclass(frozen=True)
class ResultPage:
    """One CSV page of a job's results as rows (empty cells read as None), and the locator
    of the next page ("" after the last)."""

    rows: list[dict[str, Any]]
    next_locator: str


def start_job(call: Call, soql: str, include_deleted: bool) -> str:
    """A new query job for `soql` (queryAll when deleted rows are wanted); its id."""
    operation = Operation.query_all if include_deleted else Operation.query
    answer = call("Bulk query job", lambda bulk: bulk.create_job(operation, query=soql))
    job_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise SourceError("Salesforce answered a Bulk query job request without a job id.")
    return job_id


def wait_for_job(
    call: Call, job_id: str, sleep: Callable[[float], None], just_started: bool = False
) -> int | None:
    """Poll the job with a growing wait until it is complete, and give its record count
    (`numberRecordsProcessed`; None when the answer has none); a failed or aborted job, or
    one that never finishes, is a `SourceError`. A job `just_started` is waited for before
    its first poll (a poll at once would find it running: one request for nothing)."""
    wait = FIRST_POLL_WAIT
    if just_started:
        sleep(wait)
        wait = min(wait * 2, MAX_POLL_WAIT)
    for _ in range(MAX_POLLS):
        job = call("Bulk query job status", lambda bulk: bulk.get_job(job_id, True))
        state = job.get("state") if isinstance(job, dict) else None
        if state in _FINISHED:
            if state != "JobComplete":
                raise SourceError(
                    f"the Salesforce Bulk query job {job_id} ended {state}: "
                    f"{str(job.get('errorMessage') or 'no reason given')[:300]}. Run again; if "
                    "it repeats, lower bulk_threshold above this window's size to read it "
                    "through REST pages instead."
                )
            count = job.get("numberRecordsProcessed")
            return count if isinstance(count, int) and not isinstance(count, bool) else None
        sleep(wait)
        wait = min(wait * 2, MAX_POLL_WAIT)
    raise SourceError(
        f"the Salesforce Bulk query job {job_id} did not finish after {MAX_POLLS} polls. "
        "Run again later; if it repeats, check the job in Setup > Bulk Data Load Jobs."
    )


def result_pages(
    call: Call, job_id: str, locator: str, max_records: int, guard: LoopGuard
) -> Iterator[ResultPage]:
    """The job's result pages from `locator` ("" for the first), one at a time: a page is
    let go before the next is asked for. `guard` counts the records against the job's and
    refuses a locator sent before (pages that go round)."""
    while True:
        page = call("Bulk query results", _results_of(job_id, locator, max_records, guard))
        guard.counted(len(page.rows))
        following = page.next_locator
        if following:
            guard.followed(following)
        yield page
        del page
        if not following:
            return
        locator = following


def _results_of(
    job_id: str, locator: str, max_records: int, guard: LoopGuard
) -> Callable[[_Bulk2Client], ResultPage]:
    """One result page's request, which fails (to be tried again) when the page does not
    say whether more follow and the job's record count does not settle it."""

    def request(bulk: _Bulk2Client) -> ResultPage:
        page = _result_page(bulk.get_query_results(job_id, locator, max_records))
        if page.next_locator != LOCATOR_NOT_GIVEN:
            return page
        if guard.expected is None or guard.read + len(page.rows) != guard.expected:
            raise RetriableHTTPError(
                f"the Bulk query job {job_id} sent a result page without Sforce-Locator, and "
                f"its record count ({guard.expected}) does not show it was the last"
            )
        return ResultPage(page.rows, "")

    return request


def _result_page(answer: Any) -> ResultPage:
    """One result page's CSV text as rows (an empty cell is None; a blank line is no row).

    `csv.reader` gives each row as a list in C; the row is zipped with the header into a
    dict. `csv.DictReader` did the same one row at a time in Python, and most of a page's
    parsing time was its `__next__` (bench/PROFILE.md, Salesforce). The dict is made in one
    comprehension, without a list of the row's values first."""
    try:
        lines = csv.reader(io.StringIO(answer["records"]))
        header = next(lines, [])
        # A short row's missing cells read as None (`.get`), as DictReader's did; a long
        # row's extra cells are left out (`zip` stops at the header's end).
        rows = [
            {name: value or None for name, value in zip(header, row, strict=False)}
            for row in lines
            if row
        ]
    except csv.Error as bad:
        raise RetriableHTTPError(f"a Bulk result page is not CSV that reads ({bad})") from None
    return ResultPage(rows, str(answer.get("locator") or ""))
