"""The Salesforce side of the HTTP plumbing under `SalesforceSandbox` (sandbox.wire underneath).

Owns `Handler` (a `Salesforce` server header; GET and POST passed on to the sandbox's
`handle_request`) and `write` (one answer with its headers). What is answered is up to api.py.
"""

from __future__ import annotations

from sandbox.wire.server import DeskHandler


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
