"""The Salesforce side of the HTTP plumbing under `SalesforceSandbox` (sandbox.wire underneath).

Owns `Handler` (a `Salesforce` server header; GET and POST passed on to the sandbox's
`handle_request`), `write` (one answer with its headers) and `Replies` (every answer with the
org's `Sforce-Limit-Info`, the record of what was served, and the injected wire faults acted on
before an answer). What is answered is up to api.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sandbox.salesforce.queries import error
from sandbox.wire.faults import Fault, FaultQueue
from sandbox.wire.server import DeskHandler, reset


class Handler(DeskHandler):
    server_version = "Salesforce"

    def do_GET(self) -> None:
        self.sandbox.handle_request(self)

    def do_POST(self) -> None:
        self.sandbox.handle_request(self)


def write(
    req: Handler, status: int, payload: bytes, content_type: str, headers: dict[str, str]
) -> None:
    req.send_response(status)
    req.send_header("Content-Type", content_type)
    req.send_header("Content-Length", str(len(payload)))
    for name, value in headers.items():
        req.send_header(name, value)
    req.end_headers()
    req.wfile.write(payload)


class Replies:
    """What goes back on the wire, and the record of it in `served`: (path, status) per answer,
    ("reset", 0) per connection reset."""

    def __init__(
        self, limit_info: Callable[[], str], faults: FaultQueue, stopping: threading.Event
    ) -> None:
        self.served: list[tuple[str, int]] = []
        self._limit_info = limit_info  # the Sforce-Limit-Info value now
        self._faults = faults
        self._stopping = stopping  # set when the server stops: a hung request is let go
        self._lock = threading.Lock()

    def send(
        self,
        req: Handler,
        path: str,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        usage = self._limit_info()
        with self._lock:
            self.served.append((path, status))
        write(req, status, payload, content_type, {"Sforce-Limit-Info": usage, **(headers or {})})

    def fault_first(self, req: Handler, path: str, fault: Fault) -> bool:
        """Act on a fault before the answer. True when the request is finished with."""
        if fault.kind == "429":
            self.send(req, path, 429, b"", "text/plain", {"Retry-After": str(fault.retry_after)})
            return True
        if fault.kind in ("500", "502", "503"):
            status, payload, content_type = error(
                int(fault.kind), "SERVER_UNAVAILABLE", "Server temporarily unavailable"
            )
            self.send(req, path, status, payload, content_type)
            return True
        if fault.kind == "reset":
            self._reset(req)
            return True
        if fault.kind in ("slow", "cut"):
            time.sleep(fault.delay)
            return False
        if fault.kind == "hang" and not self._faults.hang(self._stopping):
            self._reset(req)
            return True
        return False

    def _reset(self, req: Handler) -> None:
        with self._lock:
            self.served.append(("reset", 0))
        reset(req)
