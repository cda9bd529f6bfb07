"""REST `query`/`queryAll` answers of the simulator: the first page and `nextRecordsUrl` pages.

Owns `QueryCursors`: a query's selected rows are kept under a locator, and pages of `batch`
rows are served from it at `/services/data/vXX/query/{locator}-{offset}` (for queryAll too, as
Salesforce does). Like Salesforce, only the most recent `open_cursors` locators stay open; an
older or unknown one is 400 `INVALID_QUERY_LOCATOR`. A page may be fetched again (a client
retrying after a dropped connection gets the same rows).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.aggregates import parse_day_counts
from sandbox.salesforce.soql import parse
from sandbox.salesforce.values import Record

Answer = tuple[int, bytes, str]
JSON_TYPE = "application/json;charset=UTF-8"
MAX_BATCH = 2000
MIN_BATCH = 200


def error(status: int, code: str, message: str) -> Answer:
    """Salesforce's REST error body: a JSON array of {message, errorCode}."""
    return status, json.dumps([{"message": message, "errorCode": code}]).encode(), JSON_TYPE


def batch_size(options: str, default: int) -> int:
    """`Sforce-Query-Options: batchSize=N` (200..2000, as Salesforce clamps it), else default."""
    found = re.search(r"batchSize=(\d+)", options)
    if found is None:
        return default
    return max(MIN_BATCH, min(MAX_BATCH, int(found.group(1))))


class QueryCursors:
    def __init__(self, open_cursors: int = 10) -> None:
        self.open_cursors = open_cursors
        self._cursors: OrderedDict[str, tuple[str, list[Record]]] = OrderedDict()
        self._opened = 0
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cursors.clear()

    def first_page(
        self,
        version: str,
        soql: str,
        all_rows: bool,
        batch: int,
        records_of: Callable[[str, bool], list[Record]],
        time_zone: str = "UTC",
    ) -> Answer:
        """Run `soql` (SoqlError if outside the subset) and answer its first page; a count
        per day (aggregates.py) in the querying user's `time_zone` is one page, as
        Salesforce answers an aggregate query."""
        counted = parse_day_counts(soql)
        if counted is not None:
            rows = counted.run(records_of(counted.object_name, all_rows), time_zone)
            page = {"totalSize": len(rows), "done": True, "records": rows}
            return 200, json.dumps(page).encode(), JSON_TYPE
        query = parse(soql)
        rows = query.run(records_of(query.object_name, all_rows))
        with self._lock:
            self._opened += 1
            locator = ids.sf_id("01g", self._opened)
            self._cursors[locator] = (query.object_name, rows)
            while len(self._cursors) > self.open_cursors:
                self._cursors.popitem(last=False)
        return self._page(version, locator, 0, batch)

    def alias(self, locator: str) -> str | None:
        """A new locator over the rows of `locator` (None when that one is not open)."""
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None:
                return None
            self._opened += 1
            fresh = ids.sf_id("01g", self._opened)
            self._cursors[fresh] = cursor
            while len(self._cursors) > self.open_cursors:
                self._cursors.popitem(last=False)
        return fresh

    def next_page(self, version: str, locator: str, offset: int, batch: int) -> Answer:
        return self._page(version, locator, offset, batch)

    def _page(self, version: str, locator: str, offset: int, batch: int) -> Answer:
        with self._lock:
            cursor = self._cursors.get(locator)
        if cursor is None:
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        object_name, rows = cursor
        done = offset + batch >= len(rows)
        page: dict[str, Any] = {"totalSize": len(rows), "done": done}
        if not done:
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
        page["records"] = [
            {"attributes": _attributes(version, object_name, row), **row}
            for row in rows[offset : offset + batch]
        ]
        return 200, json.dumps(page).encode(), JSON_TYPE


def _attributes(version: str, object_name: str, row: Record) -> dict[str, str]:
    url = f"/services/data/v{version}/sobjects/{object_name}/{row.get('Id')}"
    return {"type": object_name, "url": url}
