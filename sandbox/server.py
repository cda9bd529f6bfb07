"""The HTTP plumbing under `ZendeskSandbox`: the threaded server and its request handler.

Owns `RequestHandler` (HTTP/1.1, nginx-like `Server` header, quiet logging, `Date` from the
desk clock, every method passed on to the sandbox, which answers it) and `Server` (daemon
threads, quiet when clients drop connections). What is answered is up to zendesk_api.py.
"""

from __future__ import annotations

from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.zendesk_api import ZendeskSandbox


class RequestHandler(BaseHTTPRequestHandler):
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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections mid-fault are expected; stay quiet
