"""Benchmark a sandbox backfill: requests per 1,000 tickets against the page-size minimum,
tickets per second, CPU per 1,000 tickets, and peak memory. Prints labelled figures;
asserts nothing.

    python bench/backfill.py [--tickets 10000] [--days 60] [--seed 7] [--no-memory]

The sandbox runs in a child process (`python -m sandbox`), so the CPU time measured is
deskmetrics' own: connector, warehouse and scoring. The page-size minimum is what the
API's page sizes allow at best: tickets and events 1,000 a page, answered ratings and users
100 (offers are not paged through).
"""

from __future__ import annotations

import argparse
import math
import re
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskmetrics import pipeline
from deskmetrics.demo import DEMO_SOURCE, TOKEN_ENV, demo_settings
from deskmetrics.pull import SourceResult
from warehouse.schema import open_engine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _backfill(base_url: str, days: int) -> tuple[SourceResult, float, float]:
    database = Path(tempfile.mkdtemp(prefix="deskmetrics-bench-")) / "bench.sqlite"
    settings = demo_settings(database, base_url, "demo@example.com")
    config = settings.zendesk_config(DEMO_SOURCE, environ={TOKEN_ENV: "sandbox-token"})
    engine = open_engine(settings.database_url())
    since = (datetime.now(UTC) - timedelta(days=days + 1)).date()
    wall, cpu = time.perf_counter(), time.process_time()
    result = pipeline.backfill(engine, settings, DEMO_SOURCE, since, None, config=config)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true", help="skip the traced second run")
    args = parser.parse_args()

    port = _free_port()
    agents, customers = max(25, args.tickets // 120), max(900, args.tickets * 3 // 10)
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--frozen-clock",
         "--tickets", str(args.tickets), "--days", str(args.days), "--seed", str(args.seed),
         "--agents", str(agents), "--customers", str(customers)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(4)]
        found = re.search(
            r"(\d+) tickets, (\d+) events, (\d+) ratings \((\d+) answered\), (\d+) agents", lines[3]
        )
        assert found, lines
        tickets, events, ratings, answered, users = map(int, found.groups())
        base_url = f"http://127.0.0.1:{port}"
        result, seconds, cpu = _backfill(base_url, args.days)
        peak = None
        if not args.no_memory:
            tracemalloc.start()
            _backfill(base_url, args.days)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    finally:
        server.terminate()
        server.wait()
    minimum = (
        math.ceil(tickets / 1000) + math.ceil(events / 1000)
        + math.ceil(answered / 100) + math.ceil(users / 100)
    )  # fmt: skip
    # New-CSAT detection asks the Help Center API, a separate allowance: counted apart.
    help_center = sum(n for path, n in result.usage.by_path.items() if "/guide/" in path)
    requests = result.usage.requests - help_center
    print(
        f"tickets / events / ratings (answered) / agents  "
        f"{tickets} / {events} / {ratings} ({answered}) / {users}"
    )
    print(
        f"requests                             {requests}  (page-size minimum {minimum}; "
        f"ratio {requests / minimum:.2f}), plus {help_center} Help Center"
    )
    print(
        f"requests per 1,000 tickets           {1000 * requests / tickets:.1f}"
        f"  (minimum {1000 * minimum / tickets:.1f})"
    )
    print(f"tickets per second                   {tickets / seconds:.0f}  ({seconds:.1f} s wall)")
    print(f"deskmetrics CPU per 1,000 tickets    {1000 * cpu / tickets:.2f} s")
    if peak is not None:
        print(f"peak traced Python memory            {peak / 2**20:.1f} MiB")
    print(
        f"API time at 10 export requests/min   {requests / 10:.1f} min, of which "
        f"deskmetrics' own CPU {cpu / 60:.2f} min"
    )


if __name__ == "__main__":
    main()
