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
) -> None:
    """Poll the job with a growing wait until it is complete; a failed or aborted job, or
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
            return
        sleep(wait)
        wait = min(wait * 2, MAX_POLL_WAIT)
    raise SourceError(
        f"the Salesforce Bulk query job {job_id} did not finish after {MAX_POLLS} polls. "
        "Run again later; if it repeats, check the job in Setup > Bulk Data Load Jobs."
    )


def _results_of(job_id: str, locator: str, max_records: int) -> Callable[[_Bulk2Client], Any]:
    return lambda bulk: bulk.get_query_results(job_id, locator, max_records)


def result_pages(call: Call, job_id: str, locator: str, max_records: int) -> Iterator[ResultPage]:
    """The job's result pages from `locator` ("" for the first), one at a time: a page is
    let go before the next is asked for."""
    while True:
        page = _result_page(call("Bulk query results", _results_of(job_id, locator, max_records)))
        following = page.next_locator
        if following and following == locator:
            raise SourceError(
                f"the Salesforce Bulk query job {job_id} sent the locator it was asked for "
                "as the next one; stopping instead of looping. Run again; if it repeats, "
                "report it."
            )
        yield page
        del page
        if not following:
            return
        locator = following


def _result_page(answer: Any) -> ResultPage:
    """One result page's CSV text as rows (an empty cell is None)."""
    rows = [
        {key: (value if value != "" else None) for key, value in row.items()}
        for row in csv.DictReader(io.StringIO(answer["records"]))
    ]
    return ResultPage(rows, str(answer.get("locator") or ""))
