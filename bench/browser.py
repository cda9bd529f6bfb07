"""A real headless Chromium (Debian's `chromium`) with the network off, for the manager's
page: the DOM it renders, a screenshot, and the requests a page made.

No network: every request goes to a proxy on 127.0.0.1:9, where nothing listens, and
Chromium's own net log (`--log-net-log`) records each request it starts. A request made
for the page carries the page's network isolation key (`file://`); Chromium's own
background requests (updates, accounts) carry another and are not the page's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser")
SECONDS = 120

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


def chromium() -> str | None:
    """The Chromium on PATH, if any (`apt-get install chromium`)."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def _run(page: Path, *extra: str, net_log: Path | None = None) -> str:
    binary = chromium()
    if binary is None:
        raise RuntimeError("no chromium on PATH: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="deskmetrics-chromium-") as profile:
        log = (f"--log-net-log={net_log}",) if net_log is not None else ()
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *log, *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=SECONDS,
            check=True,
        )
    return done.stdout


def dump_dom(page: Path, net_log: Path | None = None) -> str:
    """The DOM as Chromium rendered it (`--dump-dom`), optionally with its net log."""
    return _run(page, "--dump-dom", net_log=net_log)


def screenshot(page: Path, out: Path, width: int = 1000, height: int = 2400) -> Path:
    """A PNG of the page's top `height` pixels at `width`."""
    _run(page, f"--screenshot={out.resolve()}", f"--window-size={width},{height}")
    return out


def page_requests(net_log: Path) -> list[str]:
    """The URLs Chromium started requests for on behalf of a file:// page."""
    recorded = json.loads(net_log.read_text(encoding="utf-8"))
    names = {number: name for name, number in recorded["constants"]["logEventTypes"].items()}
    return [
        event["params"]["url"]
        for event in recorded["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB"
        and "file://" in event.get("params", {}).get("network_isolation_key", "")
    ]
