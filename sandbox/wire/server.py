"""The HTTP plumbing under both faces: the threaded server, the request handler they build on,
and dropping a connection.

Owns `Server` (daemon threads, quiet when clients drop connections), `DeskHandler` (HTTP/1.1,
quiet logging, the `Date` header from the desk clock; a face's subclass names its server and
passes the methods it serves on to the sandbox's `handle_request`), `Answers` (what such a
sandbox has) and `reset`. What is answered is up to each face.
"""

from __future__ import annotations

import socket
import struct
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sandbox.desk import Desk


class Answers(Protocol):
    """A sandbox serving a desk: answers every request its handler is given."""

    desk: Desk

    def handle_request(self, req: DeskHandler) -> None: ...


class DeskHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""
    sandbox: Answers  # set on a subclass per sandbox

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.sandbox.desk.now, usegmt=True)  # the sandbox clock


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections mid-fault are expected; stay quiet


def reset(req: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP reset, no response."""
    req.close_connection = True
    try:
        req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        req.connection.close()
    except OSError:
        pass
