"""A screenshot of the demo's manager's page, for people to look at.

    python -m bench.page_screenshot OUT.png [--tickets N] [--width W] [--height H]

Runs the demo (both sandboxes, a fresh SQLite file in a temporary folder), which writes
its page beside the database, and has a headless Chromium with the network off take a
PNG of it (bench/browser.py). Prints where the page and the screenshot are, and the
page's size.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.browser import screenshot
from deskmetrics.demo import run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="deskmetrics-page-"))
    result = run_demo(folder / "demo.sqlite", seed=7, tickets=args.tickets)
    screenshot(result.page, args.out, args.width, args.height)
    print(f"page: {result.page} ({result.page.stat().st_size:,} bytes)")
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
