"""A `requests.Session` that sends simple-salesforce's https URLs to the plain-http sandbox.

simple-salesforce 1.12.10 builds every URL as `https://{host}/...` (login, query, the
`nextRecordsUrl` pages, describe, bulk2), whatever scheme `instance_url` had. Handing it
`LoopbackSession(sandbox.instance_url)` as `session=` sends every request to the sandbox over
http instead: the client's own code paths run unchanged (research notes 1.2, option A).
"""

from __future__ import annotations

import re
from typing import Any

import requests

_ORIGIN = re.compile(r"^https?://[^/]+")


class LoopbackSession(requests.Session):
    def __init__(self, instance_url: str) -> None:
        super().__init__()
        self.instance_url = instance_url.rstrip("/")
        self.trust_env = False  # no proxies or CA bundles from the environment on loopback

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        target = url.decode() if isinstance(url, bytes) else url
        return super().request(method, _ORIGIN.sub(self.instance_url, target), *args, **kwargs)
