"""Zendesk's request handler: what `ZendeskSandbox` serves on (sandbox.wire underneath).

Owns `RequestHandler`: an nginx-like `Server` header, as Zendesk's, and GET, POST, PUT and
DELETE passed on to the sandbox, which answers each (anything but GET with a 404).
"""

from __future__ import annotations

from sandbox.wire.server import DeskHandler


class RequestHandler(DeskHandler):
    server_version = "nginx"

    def do_GET(self) -> None:
        self.sandbox.handle_request(self)

    def do_POST(self) -> None:
        self.sandbox.handle_request(self)

    def do_PUT(self) -> None:
        self.sandbox.handle_request(self)

    def do_DELETE(self) -> None:
        self.sandbox.handle_request(self)
