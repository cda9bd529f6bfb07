"""A misbehaving HTTP server on 127.0.0.1 for wire tests: scripted replies per route and call.

Each route is a path plus the query parameters a request must carry (zenpy builds query
strings from a set, so their order is never matched). A route answers its replies in
order, the last one repeated. A reply can be anything a broken or hostile server sends:
any status, headers and body, a body cut short of its `Content-Length`, or a body dripped
one byte at a time. Every request's path, query and headers are recorded, so a test can
assert what reached the server (for instance that no `Authorization` header did).

    with hostile_server() as server:
        server.route("/api/v2/users.json", Reply(body={"users": []}))
        ...  # point a connector at server.base_url
        assert server.requests[0].headers.get("Authorization")
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from connectors.http import RetryPolicy
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig


@dataclass(frozen=True)
class Reply:
    """One scripted answer. A `body` that is not bytes is sent as JSON.

    `declared_length` sends a `Content-Length` other than the body's (a body cut short);
    `drip_seconds` sends the body one byte per that many seconds after the headers, and
    `drip_headers_seconds` the status line and headers so.
    """

    status: int = 200
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    declared_length: int | None = None
    drip_seconds: float = 0.0
    drip_headers_seconds: float = 0.0

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Recorded:
    """What one request brought: path, query parameters, headers (names as sent)."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Route:
    path: str
    params: dict[str, str]
    replies: list[Reply]
    served: int = 0


class HostileServer:
    """The routes, the request record and the address of one running server."""

    def __init__(self, stopping: threading.Event) -> None:
        self.base_url = ""  # set once the socket is bound
        self.requests: list[Recorded] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._stopping = stopping

    def route(self, path: str, *replies: Reply, params: Mapping[str, str] | None = None) -> None:
        """Answer GET `path` (carrying at least `params`) with `replies`, the last repeated."""
        with self._lock:
            self._routes.append(_Route(path, dict(params or {}), list(replies)))

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def served(self, path: str) -> int:
        """How many requests reached `path` (any query)."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            matching = [
                r
                for r in self._routes
                if r.path == recorded.path
                and all(recorded.query.get(k) == v for k, v in r.params.items())
            ]
            if not matching:
                return Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})
            # The most specific route wins: the one asking for the most parameters.
            chosen = max(matching, key=lambda r: len(r.params))
            reply = chosen.replies[min(chosen.served, len(chosen.replies) - 1)]
            chosen.served += 1
            return reply

    def _stopped(self, seconds: float) -> bool:
        return self._stopping.wait(seconds)


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            recorded = Recorded(parts.path, dict(parse_qsl(parts.query)), dict(self.headers))
            reply = server._next_reply(recorded)
            payload = reply.payload()
            if "Date" in reply.headers:  # the reply's clock instead of this machine's
                self.send_response_only(reply.status)
                self.send_header("Server", self.version_string())
            else:
                self.send_response(reply.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            length = reply.declared_length if reply.declared_length is not None else len(payload)
            self.send_header("Content-Length", str(length))
            if (
                reply.declared_length is not None
                or reply.drip_seconds
                or reply.drip_headers_seconds
            ):
                self.send_header("Connection", "close")
                self.close_connection = True
            try:
                if reply.drip_headers_seconds:
                    self._headers_buffer.append(b"\r\n")
                    head, self._headers_buffer = b"".join(self._headers_buffer), []
                    self._drip(head, reply.drip_headers_seconds)
                else:
                    self.end_headers()
                if reply.drip_seconds:
                    self._drip(payload, reply.drip_seconds)
                else:
                    self.wfile.write(payload)
                    self.wfile.flush()
            except OSError:
                self.close_connection = True  # the client hung up: nothing to answer

        def _drip(self, payload: bytes, seconds: float) -> None:
            for index in range(len(payload)):
                if server._stopped(seconds):
                    return
                self.wfile.write(payload[index : index + 1])
                self.wfile.flush()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    """A server on a free port of 127.0.0.1, shut down (drips cut short) on exit."""
    stopping = threading.Event()
    hostile = HostileServer(stopping)

    class Server(ThreadingHTTPServer):
        # A dripping handler must not hold the shutdown: `stopping` ends it instead.
        block_on_close = False
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), _handler(hostile))
    hostile.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def zendesk_connector(
    server: HostileServer, sleeps: list[float], **policy: Any
) -> ZendeskConnector:
    """A Zendesk connector pointed at `server`, its waits recorded in `sleeps` (never slept):
    three tries and 5 s timeouts unless `policy` says otherwise."""
    config = ZendeskConfig("zendesk", "acme", "agent@acme.test", "token", base_url=server.base_url)
    settings = {"max_attempts": 3, "timeout_seconds": 5.0, **policy}
    return ZendeskConnector(config, RetryPolicy(sleep=sleeps.append, **settings))


def exported_ticket(ticket_id: int, **fields: Any) -> dict[str, Any]:
    """An open ticket as the incremental ticket export gives it, with `fields` on top."""
    return {
        "id": ticket_id,
        "status": "open",
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": "2026-01-05T10:00:00Z",
        "generated_timestamp": 1767607200,
        **fields,
    }
