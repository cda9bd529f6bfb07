"""A tiny HTTP server on 127.0.0.1 answering fixed bodies by path: recorded responses
served over real HTTP, so contract tests read them through the real clients. A route may
also be a function of the query (and the server's base URL) for pages that depend on it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Query = dict[str, list[str]]
Route = list[Any] | Callable[[Query, str], Any]


@contextmanager
def serving(routes: dict[str, Route]) -> Iterator[str]:
    """Serve `routes`: path -> JSON bodies (one per request, the last repeated), or path ->
    a function of (query, base URL) returning the body."""
    asked: dict[str, int] = {}
    base: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            route = routes.get(path)
            if not route:
                self.send_response(404)
                self.end_headers()
                return
            if callable(route):
                answer = route(parse_qs(parts.query), base[0])
            else:
                answer = route[min(asked.get(path, 0), len(route) - 1)]
            asked[path] = asked.get(path, 0) + 1
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base.append(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield base[0]
    finally:
        server.shutdown()
        server.server_close()
