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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.bulk2 import Operation, _Bulk2Client

from connectors.pagination import LoopGuard
from connectors.salesforce_http import LOCATOR_NOT_GIVEN
from connectors.wire import RetriableHTTPError, server_text
from interactions import SourceError

log = logging.getLogger(__name__)

# Waits between polls of a running job: from 0.5 s, doubling, at most 30 s; at most this
# many polls (about 4 hours) before the job is given up as stuck.
FIRST_POLL_WAIT = 0.5
MAX_POLL_WAIT = 30.0
MAX_POLLS = 500
_FINISHED = {"JobComplete", "Failed", "Aborted"}

Call = Callable[[str, Callable[[_Bulk2Client], Any]], Any]


class BulkJobFailedError(SourceError):
    """A Bulk query job ended `Failed` or `Aborted`: its results will never come, so the
    window is queried again (a new job) by the next run."""


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
    (`numberRecordsProcessed`; None when the answer has none); a failed or aborted job is a
    `BulkJobFailedError`, one that never finishes a `SourceError`. A job `just_started` is
    waited for before its first poll (a poll at once would find it running: one request
    for nothing)."""
    wait = FIRST_POLL_WAIT
    if just_started:
        sleep(wait)
        wait = min(wait * 2, MAX_POLL_WAIT)
    for _ in range(MAX_POLLS):
        job = call("Bulk query job status", lambda bulk: bulk.get_job(job_id, True))
        state = job.get("state") if isinstance(job, dict) else None
        if state in _FINISHED:
            if state != "JobComplete":
                raise BulkJobFailedError(
                    f"the Salesforce Bulk query job {job_id} ended {state}: "
                    f"{server_text(job.get('errorMessage') or 'no reason given', 300)}. Run again: "
                    "the next run starts a new job. If jobs keep failing, raise bulk_threshold "
                    "above this window's record count to read it through REST pages instead."
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
    call: Call,
    job_id: str,
    locator: str,
    max_records: int,
    guard: LoopGuard,
    fields: Sequence[str],
) -> Iterator[ResultPage]:
    """The job's result pages from `locator` ("" for the first), one at a time: a page is
    let go before the next is asked for. `guard` counts the records against the job's and
    refuses a locator sent before (pages that go round); `fields` are the query's, which
    every page's header names."""
    while True:
        page = call("Bulk query results", _results_of(job_id, locator, max_records, guard, fields))
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
    job_id: str, locator: str, max_records: int, guard: LoopGuard, fields: Sequence[str]
) -> Callable[[_Bulk2Client], ResultPage]:
    """One result page's request, which fails (to be tried again) when the page holds other
    than the rows it says, does not say whether more follow and the job's record count does
    not settle it, or says it is the last before the job's records are all read."""

    def request(bulk: _Bulk2Client) -> ResultPage:
        answer = bulk.get_query_results(job_id, locator, max_records)
        page = _result_page(answer, fields)
        said = answer.get("number_of_records")
        if isinstance(said, int) and said != len(page.rows):
            raise RetriableHTTPError(
                f"the Bulk query job {job_id} sent a result page of {len(page.rows)} rows "
                f"that says it holds {said} (Sforce-NumberOfRecords): cut short or padded"
            )
        read = guard.read + len(page.rows)
        if page.next_locator == LOCATOR_NOT_GIVEN:
            if guard.expected is None or read != guard.expected:
                raise RetriableHTTPError(
                    f"the Bulk query job {job_id} sent a result page without Sforce-Locator, "
                    f"and its record count ({guard.expected}) does not show it was the last"
                )
            return ResultPage(page.rows, "")
        if not page.next_locator and guard.expected is not None and read < guard.expected:
            # A last page before the job's records are all read would end the window with
            # records unread, and move its cursor past them.
            raise RetriableHTTPError(
                f"the Bulk query job {job_id} sent its last result page at record {read} "
                f"of the {guard.expected} it holds (numberRecordsProcessed)"
            )
        return page

    return request


def _result_page(answer: Any, fields: Sequence[str]) -> ResultPage:
    """One result page's CSV text as rows (an empty cell is None; a blank line is no row).

    `csv.reader` gives each row as a list in C; the row is zipped with the header into a
    dict. `csv.DictReader` did the same one row at a time in Python, and most of a page's
    parsing time was its `__next__` (bench/PROFILE.md, Salesforce). The dict is made in one
    comprehension, without a list of the row's values first. A page with rows whose header
    lacks one of the query's `fields` (matched in any letter case, and named as the query
    names it), or with a row of another length than the header, does not read: taking it
    would store a missing cell as empty (a deleted case as live)."""
    try:
        lines = csv.reader(io.StringIO(answer["records"]))
        header = _header(next(lines, []), fields)
        rows = [
            {name: value or None for name, value in zip(header, row, strict=True)}
            for row in lines
            if row
        ]
    except csv.Error as bad:
        raise RetriableHTTPError(f"a Bulk result page is not CSV that reads ({bad})") from None
    except ValueError:  # zip's strict check
        raise RetriableHTTPError(
            "a Bulk result page holds a row of another length than its header"
        ) from None
    missing = [field for field in fields if field not in header]
    if rows and missing:
        raise RetriableHTTPError(
            f"a Bulk result page has no column for {', '.join(missing[:5])}, which the "
            "query asked for"
        )
    return ResultPage(rows, str(answer.get("locator") or ""))


def _header(names: list[str], fields: Sequence[str]) -> list[str]:
    """The page's column names, each of the query's `fields` spelled as the query does."""
    spelled = {field.lower(): field for field in fields}
    return [spelled.get(name.lower(), name) for name in names]
