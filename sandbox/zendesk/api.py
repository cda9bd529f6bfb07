"""`ZendeskSandbox`: an HTTP simulator of the Zendesk Support API on 127.0.0.1, over a desk.

Owns the server lifecycle, authentication, request counters, the application of injected
faults (sandbox.wire.faults) and the answer on the wire with its headers. Endpoint handlers
and routing live in endpoints.py (incremental exports in exports.py, survey endpoints in
survey_api.py, parameters and errors in params.py, pagination in pages.py), rate limits in
limits.py, the request handler in wire.py, the desk in sandbox.desk.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.desk import Desk
from sandbox.wire.faults import Fault, FaultQueue, InjectsFaults
from sandbox.wire.server import Server, reset
from sandbox.zendesk import endpoints
from sandbox.zendesk.limits import RateLimits
from sandbox.zendesk.params import Params
from sandbox.zendesk.wire import RequestHandler


class ZendeskSandbox(InjectsFaults):
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
        survey_links: bool = False,
    ) -> None:
        self.desk = desk
        self.survey_links = survey_links
        # Tickets whose export shows a status Zendesk does not have (an integration's value,
        # a proxy's rewrite), by ticket id; their events keep the real one.
        self.shown_status: dict[int, str] = {}
        self.email, self.token = email, token
        self.host, self.port = host, port
        self.limits = RateLimits(export_limit_per_minute)
        self.follow_wall_clock = follow_wall_clock
        self.faults = FaultQueue()
        self.request_count = 0
        self.requests_by_path: dict[str, int] = {}
        self.served: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._server: Server | None = None
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
            handler = type("Handler", (RequestHandler,), {"sandbox": self})
            self._stopping.clear()
            self._server = Server((self.host, self.port), handler)
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

    # ---- request handling ------------------------------------------------------------------

    def _record(self, path: str, status: int) -> None:
        with self._lock:
            self.served.append((path, status))

    def handle_request(self, req: RequestHandler) -> None:
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
            reset(req)
            return
        self._send(req, status, payload, headers, "application/json; charset=utf-8")

    def _fault_first(self, req: RequestHandler, path: str, fault: Fault) -> bool:
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
            reset(req)
            return True
        elif fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        elif fault.kind == "hang":
            if self.faults.hang(self._stopping):
                return False
            self._record(path, 0)
            reset(req)
            return True
        else:  # "cut" acts on the answer
            return False
        return True

    def _send(
        self,
        req: RequestHandler,
        status: int,
        payload: bytes,
        headers: dict[str, str],
        content_type: str,
        cut: bool = False,
    ) -> None:
        try:
            req.send_response(status)
            path = urlsplit(req.path).path
            rate_limits = self.limits.headers(path, self.desk.now)
            for name, value in {**rate_limits, **headers}.items():
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

    def _respond(
        self, req: RequestHandler, path: str, params: Params
    ) -> tuple[int, Any, dict[str, str]]:
        if req.headers.get("Authorization") != self._auth:
            return 401, {"error": "Couldn't authenticate you"}, {}
        return endpoints.respond(self, req.command, path, params)

    def over_export_limit(self) -> bool:
        """Count an export request against the export limit; True when over it."""
        return self.limits.over_export_limit(self.desk.now)

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """A view of the desk rebuilt only when the desk changed."""
        hit = self._cache.get(name)
        if hit is not None and hit[0] == self.desk.version:
            return hit[1]
        value = build()
        self._cache[name] = (self.desk.version, value)
        return value
