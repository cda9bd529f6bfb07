"""The HTTP plumbing under `SalesforceSandbox`: the request handler and raw writes.

Owns `Handler` (HTTP/1.1, quiet, `Date` from the desk clock, GET and POST passed on to the
sandbox's `handle_request`), `write` (one answer with its headers) and `reset` (drop the
connection with a TCP reset). What is answered is up to api.py.
"""

from __future__ import annotations

import socket
import struct
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from sandbox.desk import Desk


class Answers(Protocol):
    desk: Desk

    def handle_request(self, req: Handler) -> None: ...


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""
    server_version = "Salesforce"
    sandbox: Answers  # set on a subclass per sandbox

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.sandbox.desk.now, usegmt=True)  # the sandbox clock

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


def reset(req: Handler) -> None:
    """Drop the connection with a TCP reset, no response."""
    req.close_connection = True
    try:
        req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        req.connection.close()
    except OSError:
        pass
