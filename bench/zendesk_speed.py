"""Benchmark the speed of a Zendesk backfill: deskmetrics' own CPU time per 1,000 tickets
and per record read and stored, and its peak memory, by desk size and database, beside
another checkout's (issue 20). Prints labelled figures; asserts nothing.

    python bench/zendesk_speed.py [--tickets 1350 13500] [--postgres URL] [--before CHECKOUT]

Each desk is generated and served by the sandbox (`python -m sandbox --frozen-clock`, seeded:
the same desk every run) in a process of its own; each backfill runs through the real
pipeline in a fresh process (bench/zendesk_measured.py) into a new SQLite file, and with
`--postgres` (a server URL) into a new database on that server too. `--before` names a
checkout of an earlier commit (`git worktree add /tmp/before <commit>`): each backfill then
runs once with its code and once with this one's, on the same desk, one after the other.

How to read them:
- "records" are every row read: tickets, ticket events, answered ratings and agents. A
  desk of 1,350 tickets is about 10,000 records, one of 13,500 about 100,000.
- "CPU" is `time.process_time()` (user + system) of the backfill's process until its last
  page was stored (HTTP, JSON, records, upserts, dirty days), without the scoring that
  follows, shown apart. The sandbox's CPU is not in it. The clock starts after the imports,
  the connector's module with zenpy (once per process whatever the desk's size) included:
  its CPU is printed on a line of its own. The goal is 0.5 s per 1,000 tickets for the
  whole backfill, scoring included ("all s/1k").
- "peak" is the process's peak resident set (ru_maxrss) when the last page was stored,
  imports included. The goal: the largest desk's within 1.2x of the smallest one's.
- The last lines project a 1,000,000-ticket desk's CPU from the largest desk measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from salesforce import MIB
from salesforce_speed import print_codes, print_imports, print_memory_ratios

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROJECTED_TICKETS = 1_000_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_desk(tickets: int, days: int, seed: int) -> Iterator[str]:
    """The base URL of a sandbox serving a generated desk of `tickets` tickets."""
    port = _free_port()
    agents, customers = max(25, tickets // 120), max(900, tickets * 3 // 10)
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--frozen-clock",
         "--tickets", str(tickets), "--days", str(days), "--seed", str(seed),
         "--agents", str(agents), "--customers", str(customers)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(4)]
        if not re.search(r"\d+ tickets, \d+ events", lines[3]):
            raise SystemExit(f"the sandbox did not start: {lines}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()


def measured(base_url: str, days: int, postgres: str | None, code: Path | None) -> dict[str, Any]:
    """One backfill in a fresh process, with `code`'s deskmetrics first on the path."""
    command = [sys.executable, str(HERE / "zendesk_measured.py"), "--base-url", base_url,
               "--days", str(days)] + (["--postgres", postgres] if postgres else [])  # fmt: skip
    path = [str(code.resolve())] if code is not None else []
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, str(ROOT)])}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the measured backfill failed ({done.returncode})")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="See the module docstring (bench/zendesk_speed.py) for how to read them.",
    )
    parser.add_argument("--tickets", type=int, nargs="+", default=[1350, 13500])
    parser.add_argument("--postgres", default=None, metavar="URL", help="a PostgreSQL server")
    parser.add_argument("--before", type=Path, default=None, metavar="CHECKOUT")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    databases = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    codes: list[tuple[str, Path | None]] = [("this", None)]
    if args.before is not None:
        codes.insert(0, ("before", args.before))
    figures: dict[tuple[str, int, str], dict[str, Any]] = {}
    for tickets in args.tickets:
        with served_desk(tickets, args.days, args.seed) as base_url:
            for database, postgres in databases:
                for code, checkout in codes:
                    figures[(database, tickets, code)] = measured(
                        base_url, args.days, postgres, checkout
                    )
    print_speed(args.tickets, databases, codes, figures)


def print_speed(
    sizes: list[int],
    databases: list[tuple[str, str | None]],
    codes: list[tuple[str, Path | None]],
    figures: dict[tuple[str, int, str], dict[str, Any]],
) -> None:
    print(
        "\nZendesk backfill: deskmetrics' own CPU (user + system) until the last page was "
        "stored and with the scoring after it; peak resident memory when stored"
    )
    columns = "stored s  records/s  all s/1k  peak MiB"
    print(f"  {'database':10}  {'tickets':>7}  {'records':>9}  " + "  ".join(
        f"{code:>{len(columns)}}" for code, _ in codes))  # fmt: skip
    print(f"  {'':10}  {'':>7}  {'':>9}  " + "  ".join(columns for _ in codes))
    for database, _ in databases:
        for tickets in sizes:
            records = figures[(database, tickets, codes[-1][0])]["records"]
            shown = []
            for code, _ in codes:
                f = figures[(database, tickets, code)]
                shown.append(
                    f"{f['cpu_stored']:8.1f}  {f['records'] / f['cpu_stored']:9,.0f}  "
                    f"{1000 * f['cpu'] / tickets:8.2f}  {f['rss_pulled'] / MIB:8.1f}"
                )
            print(f"  {database:10}  {tickets:>7,}  {records:>9,}  " + "  ".join(shown))
    print_memory_ratios(sizes, databases, codes, figures, "tickets")
    for database, _ in databases:
        for code, _ in codes:
            f = figures[(database, sizes[-1], code)]
            seconds = PROJECTED_TICKETS * f["cpu"] / sizes[-1]
            print(
                f"  projected, {PROJECTED_TICKETS:,} tickets on {database} ({code}): "
                f"{PROJECTED_TICKETS * f['records'] / sizes[-1]:,.0f} records, "
                f"{seconds:,.0f} s CPU ({seconds / 60:.1f} min) with scoring"
            )
    print_imports(codes, figures, "zenpy")
    print_codes(codes, figures)


if __name__ == "__main__":
    main()
