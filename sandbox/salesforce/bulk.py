"""Bulk API 2.0 query jobs of the simulator: create, poll, CSV result pages by locator.

Owns `BulkJobs`: `POST jobs/query` (operation `query` or `queryAll`, the same SOQL subset as
REST), `GET jobs/query/{id}` (`InProgress` for the first `polls_in_progress` polls, then
`JobComplete`), `GET jobs/query/{id}/results?maxRecords=N[&locator=L]` (CSV with a header row
on every page, every value quoted, `Sforce-Locator` ("null" on the last page) and
`Sforce-NumberOfRecords`; 412 `JOB_NOT_COMPLETE` before completion). A job keeps the rows it
selected when created, as Salesforce's result set is fixed once the job has run.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.queries import JSON_TYPE, error
from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.soql import SoqlError, parse
from sandbox.salesforce.values import Record

Reply = tuple[int, bytes, str, dict[str, str]]
DEFAULT_MAX_RECORDS = 50_000


@dataclass
class _Job:
    id: str
    operation: str
    object_name: str
    fields: tuple[str, ...]
    rows: list[Record]
    polls_left: int
    failure: str | None = None  # why the job ended Failed, for good (a real job stays so)

    def info(self, version: str) -> dict[str, Any]:
        complete = self.polls_left <= 0
        if complete and self.failure is not None:
            return {
                **self._info(version, "Failed", 0),
                "errorMessage": self.failure,
            }
        return self._info(
            version, "JobComplete" if complete else "InProgress", len(self.rows) if complete else 0
        )

    def _info(self, version: str, state: str, processed: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object_name,
            "createdById": ids.sf_id(ids.USER, 1),
            "createdDate": "2024-01-01T00:00:00.000+0000",
            "systemModstamp": "2024-01-01T00:00:00.000+0000",
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "numberRecordsProcessed": processed,
            "retries": 0,
            "totalProcessingTime": 0,
        }


class BulkJobs:
    def __init__(self, polls_in_progress: int = 1) -> None:
        self.polls_in_progress = polls_in_progress
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._failures: list[str] = []  # the next jobs made end Failed with these reasons

    def fail_next(self, times: int, message: str) -> None:
        with self._lock:
            self._failures.extend([message] * times)

    def create(
        self, version: str, body: bytes, records_of: Callable[[str, bool], list[Record]]
    ) -> Reply:
        try:
            request = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return _error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        operation = request.get("operation")
        if operation not in ("query", "queryAll") or not isinstance(request.get("query"), str):
            return _error(400, "INVALIDJOB", "A query job needs operation query|queryAll and query")
        try:
            query = parse(request["query"])
            rows = query.run(records_of(query.object_name, operation == "queryAll"))
        except SoqlError as error:
            return _error(400, error.code, error.message)
        with self._lock:
            job_id = ids.sf_id("750", len(self._jobs) + 1)
            job = _Job(
                job_id, operation, query.object_name, query.fields, rows, self.polls_in_progress
            )
            if self._failures:
                job.failure = self._failures.pop(0)
            self._jobs[job_id] = job
            info = job.info(version)
        info["state"] = "UploadComplete"
        return 200, json.dumps(info).encode(), JSON_TYPE, {}

    def object_of(self, path: str) -> str | None:
        """The object a job's results answer (`.../jobs/query/{id}/results`) is of."""
        found = re.search(r"/jobs/query/(\w+)/results", path)
        with self._lock:
            job = self._jobs.get(found[1]) if found else None
        return job.object_name if job else None

    def status(self, version: str, job_id: str) -> Reply:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return _error(404, "NOT_FOUND", f"Job {job_id} does not exist")
            info = job.info(version)
            job.polls_left -= 1
        return 200, json.dumps(info).encode(), JSON_TYPE, {}

    def results(self, job_id: str, max_records: int, locator: str | None) -> Reply:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return _error(404, "NOT_FOUND", f"Job {job_id} does not exist")
        if job.polls_left > 0 or job.failure is not None:
            return _error(412, "JOB_NOT_COMPLETE", "The job is not complete yet")
        offset = _offset(locator)
        if offset is None:
            return _error(400, "INVALID_LOCATOR", f"invalid locator {locator!r}")
        page = job.rows[offset : offset + max_records]
        end = offset + len(page)
        headers = {
            "Sforce-Locator": _locator(end) if end < len(job.rows) else "null",
            "Sforce-NumberOfRecords": str(len(page)),
        }
        return 200, _csv(job.fields, page, job.object_name), "text/csv", headers


def _csv(fields: tuple[str, ...], rows: list[Record], object_name: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(fields)
    kinds = OBJECTS[object_name]
    for row in rows:
        writer.writerow([_cell(row[f], kinds[f]) for f in fields])
    return out.getvalue().encode()


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime":
        return str(value).replace(".000+0000", ".000Z")  # Bulk CSV writes UTC with Z
    if isinstance(value, float) and value.is_integer() and kind != "double":
        return str(int(value))
    return str(value)


def _locator(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str | None) -> int | None:
    if not locator:
        return 0
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _error(status: int, code: str, message: str) -> Reply:
    return (*error(status, code, message), {})
