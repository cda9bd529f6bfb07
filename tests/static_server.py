"""A tiny HTTP server on 127.0.0.1 answering fixed bodies by path: recorded responses
served over real HTTP, so contract tests read them through the real clients."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@contextmanager
def serving(routes: dict[str, list[Any]]) -> Iterator[str]:
    """Serve `routes` (path -> JSON bodies, one per request, the last repeated)."""
    asked: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            bodies = routes.get(path)
            if not bodies:
                self.send_response(404)
                self.end_headers()
                return
            index = min(asked.get(path, 0), len(bodies) - 1)
            asked[path] = asked.get(path, 0) + 1
            body = json.dumps(bodies[index]).encode()
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
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
