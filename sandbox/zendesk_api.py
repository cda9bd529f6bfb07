"""An HTTP simulator of the Zendesk Support API on 127.0.0.1, serving a `Desk`.

Owns routing, authentication, request handlers, response headers (rate limits, `Date` from
the desk clock), the optional export rate limit, request counters and the application of
injected faults. Pagination lives in pages.py, faults in faults.py, data in desk.py.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox import pages
from sandbox.desk import Desk
from sandbox.faults import Fault, FaultQueue
from sandbox.model import JSON, unix

RATE_LIMIT = 700
PAGE_MAX_EXPORT = 1000
PAGE_MAX_CBP = 100
RATING_SCORES: dict[str, Callable[[str, str | None], bool]] = {
    "offered": lambda s, c: s == "offered",
    "unoffered": lambda s, c: s == "unoffered",
    "received": lambda s, c: s in ("good", "bad"),
    "received_with_comment": lambda s, c: s in ("good", "bad") and bool(c),
    "received_without_comment": lambda s, c: s in ("good", "bad") and not c,
    "good": lambda s, c: s == "good",
    "good_with_comment": lambda s, c: s == "good" and bool(c),
    "good_without_comment": lambda s, c: s == "good" and not c,
    "bad": lambda s, c: s == "bad",
    "bad_with_comment": lambda s, c: s == "bad" and bool(c),
    "bad_without_comment": lambda s, c: s == "bad" and not c,
}
Params = dict[str, list[str]]


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.body = status, {"error": error, "description": description}


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    values = params.get(name)
    if not values or values[0] == "":
        return default
    try:
        return int(float(values[0]))
    except ValueError:
        raise ApiError(400, "InvalidValue", f"{name} must be an integer") from None


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    sandbox: ZendeskSandbox  # set on a subclass per sandbox

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.sandbox.desk.now, usegmt=True)  # the sandbox clock

    def do_GET(self) -> None:
        self.sandbox._handle(self)

    def do_POST(self) -> None:
        self.sandbox._handle(self)

    def do_PUT(self) -> None:
        self.sandbox._handle(self)

    def do_DELETE(self) -> None:
        self.sandbox._handle(self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections mid-fault are expected; stay quiet


class ZendeskSandbox:
    """The Zendesk Support API over a desk. `with ZendeskSandbox(desk) as sb:` starts it."""

    def __init__(
        self,
        desk: Desk,
        email: str = "demo@example.com",
        token: str = "sandbox-token",
        host: str = "127.0.0.1",
        port: int = 0,
        export_limit_per_minute: int | None = None,
        follow_wall_clock: bool = False,
    ) -> None:
        self.desk = desk
        self.email, self.token = email, token
        self.host, self.port = host, port
        self.export_limit_per_minute = export_limit_per_minute
        self.follow_wall_clock = follow_wall_clock
        self.faults = FaultQueue()
        self.request_count = 0
        self.requests_by_path: dict[str, int] = {}
        self.served: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._minute_counts: dict[tuple[str, int], int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wall = time.monotonic()
        self._cache: dict[str, tuple[int, Any]] = {}
        expected = base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self._auth = f"Basic {expected}"

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> str:
        if self._server is None:
            handler = type("Handler", (_Handler,), {"sandbox": self})
            self._stopping.clear()
            self._server = _Server((self.host, self.port), handler)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="zendesk-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self.faults.release()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ZendeskSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- faults ----------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        times: int = 1,
        path_contains: str | None = None,
        retry_after: int = 1,
        delay: float = 0.5,
    ) -> None:
        """Make the next `times` matching requests fail as `kind` (FIFO with other faults)."""
        self.faults.add(kind, times, path_contains, retry_after, delay)

    def release(self) -> None:
        """Let requests blocked by "hang" faults go on."""
        self.faults.release()

    def wait_for_hang(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until `count` requests hang on a "hang" fault (for tests); False on timeout."""
        return self.faults.wait_hanging(count, timeout)

    # ---- request handling ------------------------------------------------------------------

    def _record(self, path: str, status: int) -> None:
        with self._lock:
            self.served.append((path, status))

    def _handle(self, req: _Handler) -> None:
        parts = urlsplit(req.path)
        path = parts.path
        with self._lock:
            self.request_count += 1
            self.requests_by_path[path] = self.requests_by_path.get(path, 0) + 1
        self._tick()
        fault = self.faults.take(path)
        if fault is not None and self._fault_first(req, path, fault):
            return
        status, body, headers = self._respond(
            req, path, parse_qs(parts.query, keep_blank_values=True)
        )
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._record(path, status)  # before answering, so a client never outruns the counters
        if fault is not None and fault.kind == "cut":
            self._send(req, status, payload, headers, "application/json; charset=utf-8", cut=True)
            self._reset(req)
            return
        self._send(req, status, payload, headers, "application/json; charset=utf-8")

    def _fault_first(self, req: _Handler, path: str, fault: Fault) -> bool:
        """Act on a fault before the answer. True when the request is finished with."""
        if fault.kind in ("429", "500", "502", "503"):
            self._record(path, int(fault.kind))
        if fault.kind == "429":
            headers = {"Retry-After": str(int(fault.retry_after))}
            self._send(req, 429, b"Too Many Requests", headers, "text/plain; charset=utf-8")
        elif fault.kind in ("500", "502", "503"):
            status = int(fault.kind)
            error = {500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable"}[status]
            body = {"error": error, "description": "Something went wrong, please try again"}
            self._send(
                req, status, json.dumps(body).encode(), {}, "application/json; charset=utf-8"
            )
        elif fault.kind == "reset":
            self._record(path, 0)
            self._reset(req)
            return True
        elif fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        elif fault.kind == "hang":
            release = self.faults.release_event()
            self.faults.hang_started()
            try:
                while not release.wait(0.05) and not self._stopping.is_set():
                    pass
            finally:
                self.faults.hang_ended()
            if self._stopping.is_set():
                self._record(path, 0)
                self._reset(req)
                return True
            return False
        else:  # "cut" acts on the answer
            return False
        return True

    def _reset(self, req: _Handler) -> None:
        """Drop the connection with a TCP reset, no response."""
        req.close_connection = True
        try:
            req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            req.connection.close()
        except OSError:
            pass

    def _headers(self) -> dict[str, str]:
        now = self.desk.now
        key = ("all", unix(now) // 60)
        with self._lock:
            used = self._minute_counts.get(key, 0) + 1
            self._minute_counts[key] = used
        return {
            "X-Rate-Limit": str(RATE_LIMIT),
            "X-Rate-Limit-Remaining": str(max(RATE_LIMIT - used, 0)),
            "ratelimit-limit": str(RATE_LIMIT),
            "ratelimit-remaining": str(max(RATE_LIMIT - used, 0)),
            "ratelimit-reset": str(60 - now.second),
        }

    def _send(
        self,
        req: _Handler,
        status: int,
        payload: bytes,
        headers: dict[str, str],
        content_type: str,
        cut: bool = False,
    ) -> None:
        try:
            req.send_response(status)
            for name, value in {**self._headers(), **headers}.items():
                req.send_header(name, value)
            req.send_header("Content-Type", content_type)
            req.send_header("Content-Length", str(len(payload)))
            req.end_headers()
            req.wfile.write(payload[: len(payload) // 2] if cut else payload)
            req.wfile.flush()
        except OSError:
            req.close_connection = True

    def _tick(self) -> None:
        if not self.follow_wall_clock:
            return
        with self._lock:
            wall = time.monotonic()
            elapsed, self._wall = wall - self._wall, wall
        with self.desk.lock:
            self.desk.now += timedelta(seconds=elapsed)

    def _respond(self, req: _Handler, path: str, params: Params) -> tuple[int, Any, dict[str, str]]:
        if req.headers.get("Authorization") != self._auth:
            return 401, {"error": "Couldn't authenticate you"}, {}
        route = _route(path)
        if route is None or req.command != "GET":
            return 404, {"error": "InvalidEndpoint", "description": "Not found"}, {}
        handler, args = route
        try:
            if handler in (_ticket_export, _event_export) and self._over_export_limit():
                retry = str(max(1, 60 - self.desk.now.second))
                return (
                    429,
                    {"error": "TooManyRequests", "description": "Export limit"},
                    {"Retry-After": retry},
                )
            with self.desk.lock:
                return 200, handler(self, params, *args), {}
        except ApiError as exc:
            return exc.status, exc.body, {}
        except pages.BadCursor:
            return 400, {"error": "InvalidPaginationParameter", "description": "Invalid cursor"}, {}

    def _over_export_limit(self) -> bool:
        if self.export_limit_per_minute is None:
            return False
        key = ("export", unix(self.desk.now) // 60)
        with self._lock:
            used = self._minute_counts.get(key, 0) + 1
            self._minute_counts[key] = used
        return used > self.export_limit_per_minute

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """A view of the desk rebuilt only when the desk changed."""
        hit = self._cache.get(name)
        if hit is not None and hit[0] == self.desk.version:
            return hit[1]
        value = build()
        self._cache[name] = (self.desk.version, value)
        return value


# ---- handlers ------------------------------------------------------------------------------


def _cutoff(sb: ZendeskSandbox) -> int:
    """Zendesk's exports leave out what changed in the last minute."""
    return unix(sb.desk.now) - 60


def _start_time(sb: ZendeskSandbox, params: Params) -> int:
    start = _int(params, "start_time")
    if start is None:
        raise ApiError(400, "InvalidValue", "start_time is required")
    if start > _cutoff(sb):
        raise ApiError(
            400, "InvalidValue", "Too recent start_time. Use a start_time at least one minute ago"
        )
    return start


def _ticket_export(sb: ZendeskSandbox, params: Params) -> JSON:
    desk = sb.desk

    def build() -> tuple[list[Any], list[tuple[int, int]]]:
        ordered = sorted(desk.tickets.values(), key=lambda t: (t.generated_timestamp, t.id))
        return ordered, [(t.generated_timestamp, t.id) for t in ordered]

    ordered, keys = sb.cached("tickets", build)
    cursor = _one(params, "cursor")
    position = pages.read_export_cursor(cursor) if cursor else (_start_time(sb, params), 0)
    per_page = _int(params, "per_page", PAGE_MAX_EXPORT) or PAGE_MAX_EXPORT
    per_page = max(1, min(per_page, PAGE_MAX_EXPORT))
    end = bisect.bisect_right(keys, (_cutoff(sb), 1 << 62))
    chunk, more = pages.after(ordered[:end], keys[:end], position, per_page)
    include = _one(params, "include")
    with_metrics = "metric_sets" in (include or "").split(",")
    after_cursor = (
        pages.export_cursor(chunk[-1].generated_timestamp, chunk[-1].id)
        if chunk
        else pages.export_cursor(*position)
    )
    base = sb.base_url
    next_params = {"cursor": after_cursor, "include": include, "per_page": _one(params, "per_page")}
    return {
        "tickets": [t.to_json(base, with_metrics) for t in chunk],
        "after_url": pages.url(base, "/api/v2/incremental/tickets/cursor.json", next_params),
        "before_url": None,
        "after_cursor": after_cursor,
        "before_cursor": None,
        "end_of_stream": not more,
    }


def _event_export(sb: ZendeskSandbox, params: Params) -> JSON:
    desk = sb.desk
    start = _start_time(sb, params)
    stamps: list[int] = sb.cached("event_stamps", lambda: [e["timestamp"] for e in desk.events])
    end = bisect.bisect_right(stamps, _cutoff(sb))
    events = desk.events[:end]
    page, last = pages.time_page(
        events, stamps[:end], start, PAGE_MAX_EXPORT, lambda e: e["timestamp"]
    )
    end_time = page[-1]["timestamp"] if page else start
    include = _one(params, "include")
    next_page = pages.url(
        sb.base_url,
        "/api/v2/incremental/ticket_events.json",
        {"start_time": end_time, "include": include},
    )
    return {
        "ticket_events": page,
        "next_page": next_page,
        "count": len(page),
        "end_time": end_time,
        "end_of_stream": last,
    }


def _cbp_page(
    sb: ZendeskSandbox,
    params: Params,
    path: str,
    key: str,
    items: list[Any],
    item_key: Callable[[Any], tuple[int, ...]],
    render: Callable[[Any], JSON],
    keep: dict[str, Any],
) -> JSON:
    size = _int(params, "page[size]", PAGE_MAX_CBP) or PAGE_MAX_CBP
    if size > PAGE_MAX_CBP or size < 1:
        raise ApiError(
            400, "InvalidPaginationParameter", f"page[size] must be between 1 and {PAGE_MAX_CBP}"
        )
    if _one(params, "page[before]"):
        raise ApiError(400, "InvalidPaginationParameter", "page[before] is not supported here")
    keys = [item_key(i) for i in items]
    after_cursor = _one(params, "page[after]")
    position: tuple[int, ...] = (
        pages.read_cbp_cursor(after_cursor) if after_cursor else (-(1 << 62),)
    )
    chunk, more = pages.after(items, keys, position, size)
    first = pages.cbp_cursor(item_key(chunk[0])) if chunk else None
    last = pages.cbp_cursor(item_key(chunk[-1])) if chunk else None
    base = sb.base_url
    return {
        key: [render(i) for i in chunk],
        "meta": {"has_more": more, "after_cursor": last, "before_cursor": first},
        "links": {
            "prev": pages.url(base, path, {**keep, "page[before]": first, "page[size]": size})
            if first
            else None,
            "next": pages.url(base, path, {**keep, "page[after]": last, "page[size]": size})
            if last
            else None,
        },
    }


def _ratings(sb: ZendeskSandbox, params: Params, path: str) -> JSON:
    start = _int(params, "start_time")
    end = _int(params, "end_time")
    score = _one(params, "score")
    if score is not None and score not in RATING_SCORES:
        raise ApiError(400, "InvalidValue", f"unknown score {score!r}")
    order = _one(params, "sort_order") or "asc"
    if order not in ("asc", "desc"):
        raise ApiError(400, "InvalidValue", "sort_order must be asc or desc")
    sign = 1 if order == "asc" else -1
    chosen = [
        r
        for r in sb.desk.ratings.values()
        if (start is None or unix(r.created_at) >= start)
        and (end is None or unix(r.created_at) < end)
        and (score is None or RATING_SCORES[score](r.score, r.comment))
    ]

    def key(r: Any) -> tuple[int, ...]:
        return (sign * unix(r.created_at), sign * r.id)

    chosen.sort(key=key)
    keep = {
        "start_time": start,
        "end_time": end,
        "score": score,
        "sort_order": _one(params, "sort_order"),
    }
    base = sb.base_url
    return _cbp_page(
        sb, params, path, "satisfaction_ratings", chosen, key, lambda r: r.to_json(base), keep
    )


def _users(sb: ZendeskSandbox, params: Params) -> JSON:
    roles = set(params.get("role[]", []) + params.get("role", []))
    chosen = sorted(
        (u for u in sb.desk.users.values() if not roles or u.role in roles), key=lambda u: u.id
    )
    keep: dict[str, Any] = {}
    if roles:
        keep["role[]"] = sorted(roles)[0] if len(roles) == 1 else None
    base = sb.base_url
    page = _cbp_page(
        sb,
        params,
        "/api/v2/users.json",
        "users",
        chosen,
        lambda u: (u.id,),
        lambda u: u.to_json(base),
        keep,
    )
    if len(roles) > 1:  # links keep every role[] parameter
        suffix = "".join(f"&role%5B%5D={r}" for r in sorted(roles))
        for name in ("next", "prev"):
            if page["links"][name]:
                page["links"][name] += suffix
    return page


def _show_many(sb: ZendeskSandbox, params: Params) -> JSON:
    raw = ",".join(params.get("ids", []))
    try:
        ids = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ApiError(400, "InvalidValue", "ids must be integers") from None
    if len(ids) > 100:
        raise ApiError(400, "InvalidValue", "at most 100 ids")
    base = sb.base_url
    users = [sb.desk.users[i].to_json(base) for i in ids if i in sb.desk.users]
    return {"users": users, "next_page": None, "previous_page": None, "count": len(users)}


def _user(sb: ZendeskSandbox, params: Params, user_id: str) -> JSON:
    user = sb.desk.users.get(int(user_id))
    if user is None:
        raise ApiError(404, "RecordNotFound", "Not found")
    return {"user": user.to_json(sb.base_url)}


def _ticket(sb: ZendeskSandbox, params: Params, ticket_id: str) -> JSON:
    ticket = sb.desk.tickets.get(int(ticket_id))
    if ticket is None or ticket.deleted:
        raise ApiError(404, "RecordNotFound", "Not found")
    return {"ticket": ticket.to_json(sb.base_url)}


def _groups(sb: ZendeskSandbox, params: Params) -> JSON:
    groups = sorted(sb.desk.groups.values(), key=lambda g: g.id)
    base = sb.base_url
    return _cbp_page(
        sb,
        params,
        "/api/v2/groups.json",
        "groups",
        groups,
        lambda g: (g.id,),
        lambda g: g.to_json(base),
        {},
    )


Handler = Callable[..., JSON]
_ROUTES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(r"/api/v2/incremental/tickets/cursor\.json"), _ticket_export),
    (re.compile(r"/api/v2/incremental/ticket_events\.json"), _event_export),
    (
        re.compile(r"(/api/v2/satisfaction_ratings(?:\.json)?)"),
        _ratings,
    ),
    (re.compile(r"/api/v2/users(?:\.json)?"), _users),
    (re.compile(r"/api/v2/users/show_many(?:\.json)?"), _show_many),
    (re.compile(r"/api/v2/users/(\d+)(?:\.json)?"), _user),
    (re.compile(r"/api/v2/tickets/(\d+)(?:\.json)?"), _ticket),
    (re.compile(r"/api/v2/groups(?:\.json)?"), _groups),
]


def _route(path: str) -> tuple[Handler, tuple[str, ...]] | None:
    for pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return handler, match.groups()
    return None
