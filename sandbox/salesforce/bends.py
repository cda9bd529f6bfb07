"""Answers bent on the way out, as a broken proxy or a misbehaving org sends them:
`SalesforceSandbox.bend`.

Owns `Bends`, the queue of bends waiting for their requests, and what each does to an answer
the sandbox already made (status, body, content type, headers):

    no_done          a query page that has more to follow, without its `done` key (its
                     `nextRecordsUrl` kept)
    cut_page         a query page without `done` and without `nextRecordsUrl`
    early_done       a query page that has more to follow, saying `done: true` without its
                     `nextRecordsUrl` (its `totalSize` kept: more than were sent)
    fresh_link       a query page whose `nextRecordsUrl` is a new locator serving the same
                     records again (a loop no repeated link gives away)
    no_locator       a Bulk result page without its `Sforce-Locator` header
    locator_cycle    Bulk result pages whose `Sforce-Locator` goes back to the locator asked
                     for before, so the pages go round two by two
    bad_count        a Bulk result page whose `Sforce-NumberOfRecords` is `many`
    bad_utf8         a Bulk result page with bytes that are not UTF-8 in a cell
    short_page       a Bulk result page without its last row (`Sforce-NumberOfRecords` kept)
    empty_locator    a Bulk result page whose `Sforce-Locator` is there but empty
    no_last_column   a Bulk result page without its last column, in the header and each row
    deep_json        a JSON body nested 200,000 arrays deep
    multiple_choices a 200 answer sent as 300 Multiple Choices, its body kept
    no_session       a login's 200 answer without a session: SOAP text that is not XML, or
                     an OAuth token answer without its `instance_url`
    long_limit_info  an answer whose `Sforce-Limit-Info` usage has 5,000 digits

Faults of the wire itself are sandbox/wire/faults.py's; error bodies are injected.py's.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

Reply = tuple[int, bytes, str, dict[str, str]]

KINDS = frozenset(
    {
        "no_done",
        "cut_page",
        "fresh_link",
        "no_locator",
        "locator_cycle",
        "bad_count",
        "bad_utf8",
        "deep_json",
        "early_done",
        "short_page",
        "empty_locator",
        "no_last_column",
        "multiple_choices",
        "no_session",
        "long_limit_info",
    }
)
DEEP = 200_000
_NEXT_PAGE = re.compile(r"/query(?:All)?/(?P<locator>[A-Za-z0-9]+)-(?P<offset>\d+)$")


@dataclass
class _Bend:
    kind: str
    times: int
    path_contains: str | None


class Bends:
    """Bends waiting for their answers; safe to use from the server's threads.

    `alias(locator)` opens a new query locator over the same rows (the REST cursors'); a
    `fresh_link` bend uses it."""

    def __init__(self, alias: Callable[[str], str | None]) -> None:
        self._waiting: list[_Bend] = []
        self._lock = threading.Lock()
        self._alias = alias
        self._asked_before: dict[str, str] = {}  # job id -> the locator asked for before

    def add(self, kind: str, times: int, path_contains: str | None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown bend {kind!r}: choose one of {sorted(KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._waiting.append(_Bend(kind, times, path_contains))

    def clear(self) -> None:
        with self._lock:
            self._waiting.clear()

    def apply(self, path: str, query: dict[str, list[str]], reply: Reply) -> Reply:
        """`reply` as the first waiting bend that matches `path` and fits the answer makes it."""
        with self._lock:
            bend = next(
                (
                    b
                    for b in self._waiting
                    if (b.path_contains is None or b.path_contains in path) and _fits(b.kind, reply)
                ),
                None,
            )
            if bend is None:
                return reply
            bend.times -= 1
            if bend.times == 0:
                self._waiting.remove(bend)
        return self._bent(bend.kind, path, query, reply)

    def _bent(self, kind: str, path: str, query: dict[str, list[str]], reply: Reply) -> Reply:
        status, payload, content_type, headers = reply
        if kind == "deep_json":
            return status, b"[" * DEEP + b"]" * DEEP, content_type, headers
        if kind == "multiple_choices":
            return 300, payload, content_type, headers
        if kind == "no_session":
            if "xml" in content_type:
                return status, b"<html><body>Down for maintenance", content_type, headers
            token = json.loads(payload)
            token.pop("instance_url", None)
            return status, json.dumps(token).encode(), content_type, headers
        if kind == "early_done":
            page = json.loads(payload)
            page["done"] = True
            page.pop("nextRecordsUrl", None)
            return status, json.dumps(page).encode(), content_type, headers
        if kind in ("no_done", "cut_page", "fresh_link"):
            page = json.loads(payload)
            page.pop("done", None)
            if kind == "cut_page":
                page.pop("nextRecordsUrl", None)
            if kind == "fresh_link":
                page["nextRecordsUrl"] = self._same_records_again(path, page)
            return status, json.dumps(page).encode(), content_type, headers
        headers = dict(headers)
        if kind == "no_locator":
            headers.pop("Sforce-Locator", None)
        elif kind == "bad_count":
            headers["Sforce-NumberOfRecords"] = "many"
        elif kind == "bad_utf8":
            header, _, rows = payload.partition(b"\n")
            payload = header + b"\n" + rows[:1] + b"\xff\xfe" + rows[1:]
        elif kind == "short_page":
            lines = list(csv.reader(io.StringIO(payload.decode())))
            payload = _csv_text(lines[:-1] if len(lines) > 1 else lines)
        elif kind == "long_limit_info":
            headers["Sforce-Limit-Info"] = f"api-usage={'9' * 5000}/15000"
        elif kind == "empty_locator":
            headers["Sforce-Locator"] = ""
        elif kind == "no_last_column":
            lines = list(csv.reader(io.StringIO(payload.decode())))
            payload = _csv_text([line[:-1] for line in lines])
        elif kind == "locator_cycle":
            job = path.split("/jobs/query/", 1)[1].split("/", 1)[0]
            asked = query.get("locator", [""])[0]
            with self._lock:
                before = self._asked_before.get(job, "")
                self._asked_before[job] = asked
            if asked and before and before != asked:
                headers["Sforce-Locator"] = before
        return status, payload, content_type, headers

    def _same_records_again(self, path: str, page: dict[str, object]) -> str:
        """A new locator at this page's own offset: following it gives these records again."""
        link = str(page.get("nextRecordsUrl") or "")
        found = _NEXT_PAGE.search(link)
        if found is None:
            return link
        asked = _NEXT_PAGE.search(path)
        offset = int(asked["offset"]) if asked else 0
        fresh = self._alias(found["locator"])
        return link[: found.start("locator")] + f"{fresh}-{offset}" if fresh else link


def _csv_text(lines: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(lines)
    return out.getvalue().encode()


def _fits(kind: str, reply: Reply) -> bool:
    """Whether a bend of `kind` can bend this answer: a 200 of the right kind of body."""
    status, payload, content_type, headers = reply
    if status != 200:
        return False
    if kind == "cut_page":
        return "json" in content_type and b'"records"' in payload
    if kind in ("no_done", "fresh_link", "early_done"):
        return "json" in content_type and b'"nextRecordsUrl"' in payload
    if kind == "no_session":
        return b"sessionId" in payload or b"access_token" in payload
    if kind in ("deep_json", "multiple_choices"):
        return "json" in content_type
    if kind == "long_limit_info":
        return True
    return "csv" in content_type and "Sforce-Locator" in headers
