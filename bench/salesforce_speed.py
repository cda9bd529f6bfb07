"""Benchmark the speed of a Salesforce Bulk backfill: deskmetrics' own CPU time per record
read and stored, and its peak memory, by desk size and database, beside another checkout's
(issue 20). Prints labelled figures; asserts nothing.

    python bench/salesforce_speed.py [--cases 10000 100000] [--postgres URL]
        [--before CHECKOUT] [--bulk-page-records 10000]

Each desk is generated and served by bench/salesforce_sandbox.py in a process of its own
(seeded, on a fixed clock: the same desk every run); each backfill runs through the real
pipeline in a fresh process (bench/salesforce_measured.py) into a new SQLite file, and with
`--postgres` (a server URL, e.g. postgresql+psycopg://postgres@127.0.0.1:55432/postgres)
into a new database on that server too. `--before` names a checkout of an earlier commit
(`git worktree add /tmp/before <commit>`): each backfill then runs once with its code and
once with this one's, one after the other on the same desk, so the two compare on one
machine in one hour.

How to read them:
- "records" are every row read: cases, history rows, ratings and users. Cases and history
  go through Bulk API 2.0 (bulk_threshold is half the cases), ratings through REST pages.
- "CPU" is `time.process_time()` (user + system) of the backfill's process until its last
  page was stored: the read-and-store path (HTTP, CSV, records, upserts, dirty days), not
  the scoring that follows, which is shown apart ("scoring"). The sandbox's CPU is not in
  it. "records/s" is records over that CPU; the goal is 50,000. The clock starts after
  the imports, the connector's module with simple-salesforce (about 0.2 s, once per
  process whatever the desk's size) included: its CPU is printed on a line of its own.
- "peak" is the process's peak resident set (ru_maxrss) when the last page was stored,
  imports included. The goal: each larger desk's within 1.2x of the smallest one's, for
  each database.
- The last line projects the CPU of a 1,000,000-case desk from the largest desk measured,
  at the same records per case and records/s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from salesforce import MIB, SandboxProcess, measured_backfill

PROJECTED_CASES = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="See the module docstring (bench/salesforce_speed.py) for how to read them.",
    )
    parser.add_argument("--cases", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--postgres", default=None, metavar="URL", help="a PostgreSQL server")
    parser.add_argument(
        "--before", type=Path, default=None, metavar="CHECKOUT", help="an earlier checkout"
    )
    parser.add_argument("--bulk-page-records", type=int, default=10000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.postgres:
        databases.append(("PostgreSQL", args.postgres))
    codes: list[tuple[str, Path | None]] = [("this", None)]
    if args.before is not None:
        codes.insert(0, ("before", args.before))
    figures: dict[tuple[str, int, str], dict[str, Any]] = {}
    for cases in args.cases:
        with SandboxProcess(cases, args.days, args.seed, 1) as sandbox:
            rows = sandbox.desk.rows
            print(
                f"(desk of {cases:,} cases: {rows['Case']:,} cases, {rows['CaseHistory']:,} "
                f"history rows, {rows['Case_Survey__c']:,} ratings, {rows['User']:,} users)",
                file=sys.stderr,
                flush=True,
            )
            for database, postgres in databases:
                for code, checkout in codes:
                    figures[(database, cases, code)] = measured_backfill(
                        sandbox, args.days, cases // 2, args.bulk_page_records, False,
                        postgres, checkout,
                    )  # fmt: skip
    print_speed(args.cases, databases, codes, figures)


def print_speed(
    sizes: list[int],
    databases: list[tuple[str, str | None]],
    codes: list[tuple[str, Path | None]],
    figures: dict[tuple[str, int, str], dict[str, Any]],
) -> None:
    print(
        "\nSalesforce Bulk backfill: deskmetrics' own CPU (user + system) until the last page "
        "was stored, scoring apart; peak resident memory then"
    )
    heading = "  ".join(f"{code:>36}" for code, _ in codes)
    print(f"  {'database':10}  {'cases':>7}  {'records':>9}  {heading}")
    print(
        f"  {'':10}  {'':>7}  {'':>9}  "
        + "  ".join(f"{'CPU s  records/s  peak MiB  scoring s':>36}" for _ in codes)
    )
    for database, _ in databases:
        for cases in sizes:
            records = figures[(database, cases, codes[-1][0])]["records"]
            shown = []
            for code, _ in codes:
                f = figures[(database, cases, code)]
                scoring = f["cpu"] - f["cpu_stored"]
                shown.append(
                    f"{f['cpu_stored']:5.1f}  {f['records'] / f['cpu_stored']:9,.0f}  "
                    f"{f['rss_pulled'] / MIB:8.1f}  {scoring:9.1f}".rjust(36)
                )
            print(f"  {database:10}  {cases:>7,}  {records:>9,}  " + "  ".join(shown))
    print_memory_ratios(sizes, databases, codes, figures, "cases")
    for database, _ in databases:
        for code, _ in codes:
            f = figures[(database, sizes[-1], code)]
            per_case = f["records"] / sizes[-1]
            speed = f["records"] / f["cpu_stored"]
            seconds = PROJECTED_CASES * per_case / speed
            print(
                f"  projected, {PROJECTED_CASES:,} cases on {database} ({code}): "
                f"{PROJECTED_CASES * per_case:,.0f} records, {seconds:,.0f} s CPU "
                f"({seconds / 60:.1f} min) at {speed:,.0f} records/s"
            )
    print_imports(codes, figures, "simple-salesforce")
    print_codes(codes, figures)


def print_memory_ratios(
    sizes: list[int],
    databases: list[tuple[str, str | None]],
    codes: list[tuple[str, Path | None]],
    figures: dict[tuple[str, int, str], dict[str, Any]],
    unit: str,
) -> None:
    """Each database's peak memory of the largest desk over the smallest's, per code (the
    speed benches of both sources print it)."""
    print("  peak memory of the largest desk over the smallest's (goal 1.2x):")
    for database, _ in databases:
        ratios = []
        for code, _ in codes:
            small, large = figures[(database, sizes[0], code)], figures[(database, sizes[-1], code)]
            ratios.append(f"{code} {large['rss_pulled'] / small['rss_pulled']:.2f}x")
        print(f"    {database:10}  {sizes[-1]:,} / {sizes[0]:,} {unit}: {', '.join(ratios)}")


def print_imports(
    codes: list[tuple[str, Path | None]],
    figures: dict[tuple[str, int, str], dict[str, Any]],
    library: str,
) -> None:
    """The CPU of importing the connector's module and its client library: once per
    process, before the clock starts, so in none of the figures above."""
    spans = []
    for code, _ in codes:
        seconds = [f["cpu_import"] for (_, _, c), f in figures.items() if c == code]
        spans.append(f"{code} {min(seconds):.2f} to {max(seconds):.2f} s")
    print(
        f"  importing the connector with {library}, once per process (not in the CPU "
        f"above): {', '.join(spans)}"
    )


def print_codes(
    codes: list[tuple[str, Path | None]], figures: dict[tuple[str, int, str], dict[str, Any]]
) -> None:
    """Which checkout each column's backfills really ran."""
    for code, _ in codes:
        ran = {f["code"] for (_, _, c), f in figures.items() if c == code}
        print(f"  code of {code!r}: {', '.join(sorted(ran))}")


if __name__ == "__main__":
    main()
