"""Benchmark `score --all` (issue 20): own CPU time, interactions per second and peak memory
of scoring every day of a generated warehouse, on SQLite and PostgreSQL, at several sizes,
optionally beside the same bench run on another tree (the code before a change). Prints a
table; asserts nothing.

    python -m bench.score [--sizes 10000,100000] [--database-url URL] [--before DIR]
                          [--days 90] [--seed 7] [--no-traced] [--driver-share]

The warehouse is bench/rescore.py's generated desk (transfers, resolutions, reopens,
ratings, repeat contacts; three tickets per ten customers), stored through
`store_records` by one child process; a second, fresh child runs `pipeline.score(…,
everything=True)` (what `deskmetrics score --all` runs) and reports:

- CPU: its own `time.process_time()` over the score, user + system (on PostgreSQL the
  server's work is not in it; on SQLite the database's is);
- wall: the score's elapsed time, which on PostgreSQL holds the server's work too (and
  shows a score planned without statistics, warehouse/planner_statistics.py);
- interactions/s: the interactions stored divided by that CPU time;
- peak RSS: the child's `ru_maxrss` after the score (interpreter and imports included);
- traced peak: the peak of Python allocations (`tracemalloc`) over a second score of the
  same warehouse, in the same child (skipped with --no-traced);
- SQLite s (`--driver-share`, SQLite only): the CPU spent inside SQLite's own calls
  (execute, executemany, fetch, commit) over a third score of the same warehouse, run under
  cProfile with a CPU clock. The profiler's cost is per Python call, and the driver is
  called a few thousand times, so this is nearly what the database's work costs the
  process: the floor no Python change can go below (a rescore, whose ledger deletes come
  on top of the first score's work).

PostgreSQL runs when `--database-url` (or DESKMETRICS_TEST_POSTGRES_URL) names a server: each
warehouse is a fresh database on it, dropped afterwards. `--before DIR` is a checkout of
another commit (e.g. `git worktree add DIR 13829fd`): its children import DIR's code (the
bench itself is not needed there), and its figures are printed beside this tree's.
The last line projects 1,000,000 interactions from the largest size's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent  # this tree


@dataclass(frozen=True)
class Figures:
    cpu: float  # own CPU seconds of the score
    wall: float
    rss_mib: float  # the scoring child's peak resident set
    traced_mib: float | None  # peak traced Python allocations of a second score
    sqlite_cpu: float | None  # CPU inside SQLite's calls over a third score (--driver-share)

    def rate(self, interactions: int) -> float:
        return interactions / self.cpu


# -- children: run with the code of one tree (PYTHONPATH) --------------------------------


def _child_build(url: str, tickets: int, days: int, seed: int) -> None:
    from bench.rescore import T0, _desk, _store_all
    from warehouse.schema import open_engine

    engine = open_engine(url)
    _store_all(engine, _desk(tickets, days, seed), T0 + timedelta(days=days + 7))
    engine.dispose()


def _sqlite_cpu(score: Any) -> float:
    """CPU seconds spent inside SQLite's own calls while `score()` runs."""
    import cProfile
    import pstats

    profile = cProfile.Profile(time.process_time)
    profile.runcall(score)
    found: Any = pstats.Stats(profile)  # its `stats` is not in the type stubs
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = found.stats
    # Built-in methods are named like "<method 'execute' of 'sqlite3.Cursor' objects>".
    return float(
        sum(own for (_, _, name), (_, _, own, _, _) in stats.items() if "'sqlite3." in name)
    )


def _child_score(url: str, traced: bool, driver_share: bool) -> None:
    import deskmetrics
    from deskmetrics import pipeline
    from deskmetrics.settings import Settings
    from warehouse.schema import open_engine

    engine = open_engine(url)
    cpu, wall = time.process_time(), time.perf_counter()
    pipeline.score(engine, Settings(), everything=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    peak = None
    if traced:
        tracemalloc.start()
        pipeline.score(engine, Settings(), everything=True)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    sqlite_cpu = None
    if driver_share and engine.dialect.name == "sqlite":
        sqlite_cpu = _sqlite_cpu(lambda: pipeline.score(engine, Settings(), everything=True))
    engine.dispose()
    found = {
        "cpu": cpu,
        "wall": wall,
        "rss_mib": rss,
        "traced_mib": peak,
        "sqlite_cpu": sqlite_cpu,
    }
    print(json.dumps({**found, "code": str(Path(deskmetrics.__file__).parent.parent)}))


def _run_child(tree: Path, *args: str) -> dict[str, Any]:
    # -P: the tree's own code on PYTHONPATH comes first, not this script's folder.
    command = [sys.executable, "-P", str(Path(__file__).resolve()), "--child", *args]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {shlex.join(args)} in {tree} failed:\n{done.stderr}")
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    return json.loads(last)  # type: ignore[no-any-return]


# -- parent -------------------------------------------------------------------------------


def measure(
    tree: Path, database: str, admin_url: str | None, tickets: int, args: argparse.Namespace
) -> Figures:
    # Imported here, in the parent only: a child runs with another tree's code first on
    # its path, whose bench may not have it.
    from bench.salesforce_measured import fresh_database

    with fresh_database(admin_url if database != "sqlite" else None) as url:
        _run_child(tree, "build", url, str(tickets), str(args.days), str(args.seed))
        found = _run_child(
            tree,
            "score",
            url,
            "traced" if args.traced else "untraced",
            "driver-share" if args.driver_share else "no-driver-share",
        )
    if Path(found.pop("code")).resolve() != tree.resolve():
        raise SystemExit(f"the child scored with code outside {tree}")
    return Figures(**found)


def _cell(figures: Figures | None, tickets: int) -> str:
    if figures is None:
        return f"{'':>8} {'':>8} {'':>9} {'':>7} {'':>7} {'':>8}"
    traced = "-" if figures.traced_mib is None else f"{figures.traced_mib:7.1f}"
    sqlite_cpu = "-" if figures.sqlite_cpu is None else f"{figures.sqlite_cpu:8.2f}"
    rate = figures.rate(tickets)
    return (
        f"{figures.cpu:8.2f} {figures.wall:8.2f} {rate:9,.0f} {figures.rss_mib:7.1f} "
        f"{traced:>7} {sqlite_cpu:>8}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "build":
            _child_build(rest[0], int(rest[1]), int(rest[2]), int(rest[3]))
        else:
            _child_score(rest[0], rest[1] == "traced", rest[2] == "driver-share")
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--database-url", default=os.environ.get("DESKMETRICS_TEST_POSTGRES_URL"))
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-traced", dest="traced", action="store_false")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--driver-share",
        action="store_true",
        help="also measure the CPU inside SQLite's own calls (a third, profiled score)",
    )
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, "-m", "bench.score", *sys.argv[1:]]))
    sizes = [int(part) for part in args.sizes.split(",") if part]
    databases = ["sqlite"] + ([] if args.sqlite_only or not args.database_url else ["postgresql"])
    head = (
        f"{'CPU s':>8} {'wall s':>8} {'inter./s':>9} {'RSS MiB':>7} {'traced':>7} {'SQLite s':>8}"
    )
    print(f"{'database':<10} {'size':>7} | before: {head} | after: {head}")
    largest: tuple[int, Figures] | None = None
    for database in databases:
        for tickets in sizes:
            before = None
            if args.before is not None:
                before = measure(args.before, database, args.database_url, tickets, args)
            after = measure(HERE, database, args.database_url, tickets, args)
            line = f"{database:<10} {tickets:>7,} | before: {_cell(before, tickets)}"
            print(f"{line} | after: {_cell(after, tickets)}", flush=True)
            if database == "sqlite" and (largest is None or tickets > largest[0]):
                largest = (tickets, after)
    if largest is not None:
        tickets, figures = largest
        projected = 1_000_000 / figures.rate(tickets)
        print(
            f"projection, 1,000,000 interactions on SQLite at the {tickets:,} rate: "
            f"{projected:,.0f} s CPU ({projected / 60:.1f} min)"
        )


if __name__ == "__main__":
    main()
