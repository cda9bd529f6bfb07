"""What may go out on the wire and what must come back, for the HTTP policy (`http`).

- `OriginBoundSession` sends to one origin only: a next-page link or a redirect to another
  scheme, host or port is refused before anything, credentials included, goes there
  (`ForeignOriginError`).
- `read_body` reads a body in small pieces under a whole-response deadline (a per-read
  timeout alone lets a server that sends a byte a second hold a run for ever).
- `loaded_json` parses it once, its nesting depth bounded before the parse (a body nested
  200,000 deep would end the run in a `RecursionError`); `parsed_page` checks it is a JSON
  object and a page that does not contradict itself; `ParsedResponse` hands that one parse
  to the client library.

A fault of the body is a `RetriableHTTPError`: a second try usually cures it, and the
retry policy ends a persistent one in a clear `SourceUnavailableError`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
import urllib3

from interactions import SourceError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PIECE_BYTES = 64 * 1024  # one read of the body; the deadline is checked between reads
# No API page comes near this once decompressed (a Bulk page of 100,000 rows of 2.5 KB
# would); a few MB of gzip can inflate past it, and would take the memory with it.
MAX_BODY_BYTES = 256 * 1024 * 1024
# No API page nests deeper than a handful of levels; far below Python's recursion limit.
MAX_JSON_DEPTH = 64
_QUOTED = re.compile(rb'"[^"]*"')
_FEW_BRACKETS_BYTES = 4096
_NOT_A_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
# Answers that are one number, not a page: Zendesk's search count is `{"count": N}`.
COUNT_PATHS = ("/api/v2/search/count",)
HELP_CENTER_PATH = "/api/v2/guide/"  # lists paged by meta.after_cursor, links optional
# A run of token characters as long as a credential: an API token (40), a session id, a
# Basic or Bearer value a proxy might echo back in its error page.
_CREDENTIAL_LIKE = re.compile(r"[A-Za-z0-9+/=_.!-]{32,}")


def server_text(value: Any, limit: int = 200) -> str:
    """What a server said, fit to quote in a message or a log: cut to `limit` characters,
    every run that could be a credential left out (an error page may echo the request's
    own headers, and messages reach logs and terminals)."""
    return _CREDENTIAL_LIKE.sub("…", str(value))[:limit]


class RetriableHTTPError(Exception):
    """A failure worth another try: 429, 5xx, a broken or late body. Internal: callers see
    `SourceUnavailableError`."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ForeignOriginError(SourceError):
    """A link or a redirect pointed at another server: refused, nothing was sent there."""


class OriginBoundSession(requests.Session):
    """A session that sends to one origin only: the credentials never leave that server.

    `send` is where every request passes, a link followed by the client library as well
    as each hop of a redirect, so a foreign address is refused before anything goes out.
    """

    # The setting that names the server, for refusals (`http.timed_session` sets the
    # policy's, in the words of the source's type).
    address_setting = "the source's server address"

    def __init__(self, source: str, origin: str | None) -> None:
        super().__init__()
        self.source = source
        self.origin = origin_of(origin) if origin else None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        target = request.url or ""
        if self.origin is None:
            self.origin = origin_of(target)
        if self.origin is None or origin_of(target) != self.origin:
            raise ForeignOriginError(self.refusal(target, "a next-page link"))
        return super().send(request, **kwargs)

    def refusal(self, target: str, how: str) -> str:
        """Why a request to `target` is not made: its origin only, never a path or query."""
        where = origin_of(target) or "an address that cannot be read"
        return (
            f"{self.source}: the server sent deskmetrics to {where} ({how}), which is not "
            f"the configured server {self.origin or '(none)'}; deskmetrics refuses to send "
            "credentials elsewhere, and sent nothing there. If the account really moved, "
            f"change {self.address_setting} in the settings; otherwise report it."
        )


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of a URL, the port made explicit; None when it cannot be read.

    User info, path and query are left out, so the result is safe to show.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if not scheme or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"


class ParsedResponse(requests.Response):
    """A response whose JSON body the hook has read and checked: `json()` returns that value.

    The client library calls `json()` several times per response (once per handler it
    tries); parsing a page of 1,000 tickets once is enough.
    """

    parsed: dict[str, Any]

    def json(self, **kwargs: Any) -> Any:
        return self.parsed


def read_body(
    response: requests.Response,
    deadline_seconds: float,
    timeout: Any,
    where: str,
    bound: str = "http.deadline_seconds bounds a whole response",
    limit: int = MAX_BODY_BYTES,
) -> bytes:
    """The whole body, read in small pieces so that a total deadline holds.

    A per-read timeout alone lets a server that sends a byte a second hold a run for ever.
    The deadline counts from when the request was sent (`elapsed` is the wait for the
    headers); each read waits at most until the deadline. `bound` names the setting the
    deadline comes from, for the message. A body past `limit` bytes once decompressed is
    refused before it takes the memory. On any failure the connection is closed (it is
    mid-body, never reusable) and a retriable error raised.
    """
    deadline = time.monotonic() - response.elapsed.total_seconds() + deadline_seconds
    per_read = _read_timeout(timeout)
    pieces: list[bytes] = []
    received = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _past_deadline(where, deadline_seconds, received, bound)
            wait = left if per_read is None else min(left, per_read)
            deadline_first = wait == left  # a timeout now means the deadline passed
            _wait_at_most(response.raw, wait)
            try:
                # read1: at most one read from the socket, so a drip returns piece by piece.
                piece = response.raw.read1(_PIECE_BYTES, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError:
                if deadline_first:
                    raise _past_deadline(where, deadline_seconds, received, bound) from None
                raise RetriableHTTPError(
                    f"{where} sent nothing for {wait:g} s in the middle of the response "
                    f"(after {received} bytes; http.timeout_seconds)"
                ) from None
            except urllib3.exceptions.HTTPError as cut:
                raise RetriableHTTPError(
                    f"{where}: the response was cut off after {received} bytes "
                    f"({type(cut).__name__})"
                ) from None
            if not piece:
                break
            pieces.append(piece)
            received += len(piece)
            if received > limit:
                raise RetriableHTTPError(
                    f"{where} sent a response of more than {limit:,} bytes once decompressed: "
                    "no API page is that large"
                )
    except RetriableHTTPError:
        response.close()
        raise
    body = b"".join(pieces)
    # What requests does after reading a body itself (`Response.content`); the stubs
    # leave `_content_consumed` out.
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]
    return body


def parsed_page(response: requests.Response, body: bytes, where: str, path: str) -> ParsedResponse:
    """The response with its JSON object parsed once, or a retriable error saying what is wrong.

    A proxy's HTML page, a body cut short, a value that is not an object and a page that
    says more follows but holds nothing are all things a second try usually cures; if
    they persist, the retries end in a clear error instead of a traceback or a quiet end.
    """
    kind = response.headers.get("Content-Type", "")
    if kind and "json" not in kind.lower():
        raise RetriableHTTPError(
            f"{where} answered {kind.split(';')[0]!r}, not JSON (a proxy, a login or a "
            "maintenance page in the way?)"
        )
    value = loaded_json(body, where)
    if not isinstance(value, dict):
        raise RetriableHTTPError(
            f"{where} answered with a JSON {type(value).__name__}, not the object a page is"
        )
    # A page holds a list of records, a single answer an object: `{}` or a few bare
    # values is neither, and the client library would fail on it with a traceback.
    if not any(isinstance(v, list | dict) for v in value.values()) and not path.startswith(
        COUNT_PATHS
    ):
        raise RetriableHTTPError(f"{where} answered with a JSON object that holds no records")
    # Every list of a page is a list of records (tickets, users, events…): an item that is
    # not an object would fail inside the client library with a traceback.
    for key, items in value.items():
        if isinstance(items, list) and not all(isinstance(item, dict) for item in items):
            raise RetriableHTTPError(
                f"{where} answered with {key!r} holding items that are not records (objects)"
            )
    _check_pagination(value, where, path)
    parsed = ParsedResponse()
    parsed.__dict__.update(response.__dict__)
    parsed.parsed = value
    return parsed


def refuse_unfollowed_redirect(response: requests.Response, where: str) -> None:
    """A 3xx that requests does not follow (a 300's choices, a 302 without Location) is no
    answer a client can use: its library would take it for one, or raise with the page in
    its message. A `RetriableHTTPError`, like a 5xx."""
    status = response.status_code
    if 300 <= status < 400 and not response.is_redirect:
        response.close()
        raise RetriableHTTPError(f"{where} answered {status} without a redirect to follow")


def require_list(page: Mapping[str, Any], key: str, where: str) -> None:
    """A `RetriableHTTPError` unless `page` holds its records as a list under `key`: a 200
    without it (an error's body, another endpoint's page) would read as the last, empty
    page and end the stream with the rest unread."""
    if not isinstance(page.get(key), list):
        held = ", ".join(sorted(str(k)[:40] for k in page)[:5]) or "nothing"
        raise RetriableHTTPError(f"{where} answered without its {key!r} list (it holds {held})")


def loaded_json(body: bytes, where: str) -> Any:
    """`body` parsed as JSON, or a `RetriableHTTPError` saying why not: not JSON, cut short,
    NaN or Infinity, or nested deeper than `MAX_JSON_DEPTH` (checked before parsing)."""
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        raise RetriableHTTPError(
            f"{where} answered with JSON nested deeper than {MAX_JSON_DEPTH} levels (or with "
            "brackets that do not pair): no API page does"
        )
    try:
        return json.loads(body, parse_constant=_no_constant)
    except ValueError as broken:
        at = f" at byte {broken.pos}" if isinstance(broken, json.JSONDecodeError) else ""
        raise RetriableHTTPError(
            f"{where} answered with JSON that does not parse{at} of {len(body)} bytes "
            "(cut short, or not JSON at all)"
        ) from None


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether the brackets of a JSON text nest deeper than `limit` (or do not pair).

    In C-speed passes, never recursing: the brackets outside strings, then the innermost
    pairs taken away level by level; a normal page is empty after a few levels."""
    # A short body with few brackets cannot nest deeply; a page of records always has more
    # brackets than the limit, and counting them would be a pass over it for nothing.
    if len(body) <= _FEW_BRACKETS_BYTES and body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(body)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


def _brackets_outside_strings(body: bytes) -> bytes:
    """The brackets of a JSON text that are not inside a string, in their order.

    Escaped backslashes, then escaped quotes out; then everything but brackets and quotes.
    Quotes now alternate, opening and closing strings: two side by side end an empty string
    or close one and open the next with no bracket between, so taking them away leaves the
    rest paired the same way. What is left between a pair was inside a string (rare: a
    bracket in a text). This replaced a pattern match of every string, which cost as much
    CPU as parsing the JSON (bench/PROFILE.md)."""
    # Escapes begin with a backslash: a body without one (one fast search) has none to drop.
    kept = body.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in body else body
    kept = kept.translate(None, _NOT_A_BRACKET_OR_QUOTE).replace(b'""', b"")
    if b'"' in kept:
        # A quote left unpaired (JSON cut short) is dropped too; parsing then says why.
        kept = _QUOTED.sub(b"", kept).replace(b'"', b"")
    return kept


def _check_pagination(page: dict[str, Any], where: str, path: str) -> None:
    """A cursor page that says more follows must hold records and the link to the rest.

    zenpy ends a stream quietly on an empty page: a page that says `has_more` and holds
    nothing would end a run with part of the records and no error.
    """
    meta = page.get("meta")
    if not isinstance(meta, dict) or meta.get("has_more") is not True:
        return
    # The records are under the resource's name (`satisfaction_ratings` for
    # /api/v2/satisfaction_ratings.json); failing that, under any list of the page.
    resource = path.rsplit("/", 1)[-1].removesuffix(".json")
    named = page.get(resource)
    if isinstance(named, list):
        holds_records = bool(named)
    else:
        holds_records = any(isinstance(v, list) and v for v in page.values())
    if not holds_records:
        raise RetriableHTTPError(
            f"{where} says more records follow (meta.has_more) but holds none: a page "
            "that contradicts itself"
        )
    links = page.get("links")
    link = links.get("next") if isinstance(links, dict) else None
    if isinstance(link, str) and link:
        return
    # Help Center lists (/api/v2/guide/) are asked for their next page by
    # `page[after]=<meta.after_cursor>`: a real account's page has no `links` at all.
    after = meta.get("after_cursor")
    help_center = path.startswith(HELP_CENTER_PATH)
    if help_center and isinstance(after, str) and after:
        return
    wanted = "links.next or meta.after_cursor" if help_center else "links.next"
    raise RetriableHTTPError(
        f"{where} says more records follow (meta.has_more) but gives no {wanted}"
    )


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python's JSON only


def _read_timeout(timeout: Any) -> float | None:
    """The per-read timeout requests was given: a number, or the second of a pair."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else None
    return float(timeout) if isinstance(timeout, int | float) else None


def _wait_at_most(raw: Any, seconds: float) -> None:
    """Let the next socket read wait no longer than `seconds` (urllib3 resets it per request)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _past_deadline(
    where: str, deadline_seconds: float, received: int, bound: str
) -> RetriableHTTPError:
    return RetriableHTTPError(
        f"{where} was still arriving after {round(deadline_seconds, 2):g} s ({received} bytes "
        f"so far; {bound})"
    )
