"""Benchmark a Salesforce backfill from the sandbox: requests per 1,000 cases of the REST and
the Bulk API 2.0 paths against the page-size minimum, and the peak memory of a Bulk
backfill of a small and a large desk. Prints labelled figures; asserts nothing.

    python bench/salesforce.py [--cases 10000] [--mode rest|bulk|both]
        [--memory-cases 10000 100000 ...] [--no-memory] [--tracemalloc]

Each desk is generated and served by bench/salesforce_sandbox.py in a process of its own
(seeded, on a fixed clock: the same desk every run), and each backfill runs through the
real pipeline (`deskmetrics.pipeline.backfill`, custom CSAT object) in a fresh process
(bench/salesforce_measured.py), so the figures are deskmetrics' own: connector, warehouse
writes and the backfill's scoring. On two cores the defaults take about 5 minutes (the
100,000-case desk takes 2 to generate), `--tracemalloc` 8 more.

How to read them:
- "requests" are the connector's (`usage.by_path`: ids and locators shown as "…"); the
  sandbox's own count is beside them as a check.
- The REST page-size minimum is ceil(cases / 2,000) + ceil(history rows / 2,000), plus the
  ratings and users pages, shown apart. The Bulk minimum is, for each object read through
  Bulk, its result pages at `bulk_page_records` plus one job creation and one status
  request, plus the REST pages of what stays under `bulk_threshold` (`--bulk-threshold`,
  by default half the desk's cases: cases and history go through Bulk, ratings do not).
  Neither counts the login, the CSAT object's `describe` or the `CaseStatus` query: they
  are what the connector spends above the minimum whatever the size. The goal is within
  1.1x of the minimum; tap-salesforce 2.8.1 needs 3.2 requests per 1,000 cases on 10,188
  cases and 51,514 history rows, 1.03x its minimum of 32 (this desk has more history rows
  a case, so its minimum per 1,000 cases is higher: compare the ratios).
- The sandbox answers `InProgress` to the first `--polls` status requests of a Bulk job, as
  a job just created is not done yet; each such poll is a request above the minimum.
- Memory is the peak resident set (ru_maxrss) of the backfill's fresh process: before the
  backfill (imports and an empty database), when the last page was stored, and after the
  backfill's scoring. ru_maxrss is what the machine really gives the process, C-level
  allocations (SQLite, the parsers) included, at full speed; "growth" takes the import
  baseline off so it does not flatter the ratio. `--tracemalloc` adds a traced run of each
  size (slower; tracing starts after imports): Python allocations only, by their peak.
  The goal: each larger desk's peak within 1.2x of the first (smallest) one's. The pages
  column says how many Bulk result pages the cases and history took: a desk whose cases
  fit in one page never holds two case pages at once, so compare it with care.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REST_PAGE = 2000  # the most records a REST query page holds
ALL_REST = 10**9  # a bulk_threshold no window reaches
# stream -> (sandbox object, its rows' label)
STREAMS = {
    "cases": ("Case", "cases"),
    "case_history": ("CaseHistory", "history rows"),
    "ratings": ("Case_Survey__c", "ratings"),
    "agents": ("User", "users"),
}
WINDOWED = ("cases", "case_history", "ratings")  # streams a bulk_threshold applies to
MIB = 1024  # ru_maxrss is in KiB


@dataclass(frozen=True)
class ServedDesk:
    """What the sandbox process said once it served: where, its clock, its rows."""

    instance_url: str
    now: datetime
    seconds: float
    rows: dict[str, int]

    @property
    def cases(self) -> int:
        return self.rows["Case"]


class SandboxProcess:
    """bench/salesforce_sandbox.py serving one desk until closed."""

    def __init__(self, cases: int, days: int, seed: int, polls: int) -> None:
        print(f"(generating and serving a {cases:,}-case desk...)", file=sys.stderr, flush=True)
        self._process = subprocess.Popen(
            [sys.executable, str(HERE / "salesforce_sandbox.py"), "--cases", str(cases),
             "--days", str(days), "--seed", str(seed), "--polls", str(polls)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        ready = json.loads(self._line())
        self.desk = ServedDesk(
            ready["instance_url"],
            datetime.fromisoformat(ready["now"]),
            float(ready["seconds"]),
            {name: int(n) for name, n in ready["rows"].items()},
        )

    def _line(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise SystemExit(f"the sandbox process ended ({self._process.wait()}); see above")
        return line

    def served(self) -> int:
        """Requests the sandbox has answered so far."""
        stdin: IO[str] | None = self._process.stdin
        assert stdin is not None
        stdin.write("served\n")
        stdin.flush()
        return int(json.loads(self._line())["requests"])

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # the end of stdin stops it
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def measured_backfill(
    sandbox: SandboxProcess,
    days: int,
    threshold: int,
    page_records: int,
    traced: bool,
    postgres: str | None = None,
    code: Path | None = None,
) -> dict[str, Any]:
    """One backfill in a fresh process (bench/salesforce_measured.py); its figures, with the
    requests the sandbox counted meanwhile (`served`). `postgres`: a new database on that
    server instead of a SQLite file; `code`: another checkout of deskmetrics whose code the
    backfill runs (put first on PYTHONPATH), e.g. the commit before a change."""
    desk = sandbox.desk
    since = (desk.now - timedelta(days=days + 1)).date()
    before = sandbox.served()
    command = [
        sys.executable, str(HERE / "salesforce_measured.py"), "--instance-url",
        desk.instance_url, "--since", since.isoformat(), "--bulk-threshold", str(threshold),
        "--bulk-page-records", str(page_records),
    ] + (["--tracemalloc"] if traced else []) + (
        ["--postgres", postgres] if postgres else []
    )  # fmt: skip
    environment = None
    if code is not None:
        environment = {**os.environ, "PYTHONPATH": str(code.resolve())}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the measured backfill failed ({done.returncode})")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["served"] = sandbox.served() - before
    return figures


@dataclass(frozen=True)
class Least:
    """The fewest requests one stream's rows can be read in: REST pages, or Bulk result
    pages plus the job's creation and one status request."""

    label: str
    rows: int
    pages: int
    bulk: bool

    @property
    def requests(self) -> int:
        return self.pages + 2 if self.bulk else self.pages

    def shown(self) -> str:
        if self.bulk:
            return (
                f"{self.label} {self.rows:,} by Bulk: {self.pages} result pages + create + status"
            )
        return f"{self.label} {self.rows:,} in REST pages of {REST_PAGE:,}"


def page_size_minimum(rows: dict[str, int], threshold: int, page_records: int) -> list[Least]:
    """The minimum of each stream, cases and history first: through Bulk above `threshold`
    (never users, which are not read in windows), else in REST pages."""
    minimum = []
    for stream, (obj, label) in STREAMS.items():
        count = rows[obj]
        bulk = stream in WINDOWED and count > threshold
        pages = max(1, math.ceil(count / (page_records if bulk else REST_PAGE)))
        minimum.append(Least(label, count, pages, bulk))
    return minimum


def requests_above(by_path: dict[str, int], minimum: list[Least]) -> str:
    """The requests above the minimum, by what they were for (told apart by their paths)."""

    def count(test: Callable[[str], bool]) -> int:
        return sum(n for path, n in by_path.items() if test(path))

    jobs = count(lambda p: p.endswith("/jobs/query"))
    polls = count(lambda p: "/jobs/query/" in p and not p.endswith("/results"))
    results = count(lambda p: p.endswith("/results"))
    rest = count(lambda p: "/query" in p and "/jobs/" not in p)
    rest_pages = sum(m.pages for m in minimum if not m.bulk)
    result_pages = sum(m.pages for m in minimum if m.bulk)
    return (
        f"login {count(lambda p: '/Soap/' in p or '/oauth2/' in p)}, "
        f"describe {count(lambda p: p.endswith('/describe'))}, "
        f"REST queries beyond the REST pages {rest - rest_pages} (CaseStatus, and a first "
        f"page whose rows are dropped per Bulk job: {jobs} jobs), "
        f"status polls beyond one a job {polls - jobs}, "
        f"result pages beyond the minimum {results - result_pages}"
    )


def print_requests(
    title: str, desk: ServedDesk, figures: dict[str, Any], minimum: list[Least]
) -> None:
    cases, requests = desk.cases, int(figures["requests"])
    least = sum(m.requests for m in minimum)
    core = sum(m.requests for m in minimum[:2])  # cases and history
    print(f"\n{title}")
    print(
        f"  took                                {figures['seconds']:.1f} s wall, "
        f"{figures['cpu']:.1f} s deskmetrics CPU (backfill and scoring)"
    )
    read = ", ".join(
        f"{stream} {s['records']:,} in {s['pages']}" for stream, s in figures["streams"].items()
    )
    unread = [
        f"{stream} read {figures['streams'][stream]['records']:,} of {desk.rows[obj]:,}"
        for stream, (obj, _) in STREAMS.items()
        if figures["streams"].get(stream, {}).get("records") != desk.rows[obj]
    ]
    print(f"  records read in pages               {read}")
    if unread or figures["stopped"]:
        shown = "; ".join(unread)
        print(f"  NOT ALL READ                        {shown} (stopped: {figures['stopped']})")
    print("  requests by path")
    for path, count in sorted(figures["by_path"].items(), key=lambda item: -item[1]):
        print(f"    {count:6d}  {path}")
    served = figures["served"]
    print(f"  requests                            {requests}  (the sandbox counted {served})")
    print("  page-size minimum")
    for part in minimum:
        print(f"    {part.requests:6d}  {part.shown()}")
    print(f"    {least:6d}  in all ({core} for cases and history)")
    print(f"  above the minimum                   {requests - least}:")
    print(f"    {requests_above(figures['by_path'], minimum)}")
    ratio = requests / least
    print(f"  ratio to the minimum                {ratio:.2f}  (goal 1.1; tap-salesforce 1.03)")
    print(
        f"  requests per 1,000 cases            {1000 * requests / cases:.2f}  (minimum "
        f"{1000 * least / cases:.2f}, cases and history alone {1000 * core / cases:.2f}; "
        f"tap-salesforce 3.2 at {51514 / 10188:.1f} history rows a case, here "
        f"{desk.rows['CaseHistory'] / cases:.1f})"
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="See the module docstring (bench/salesforce.py) for how to read the figures.",
    )
    parser.add_argument(
        "--cases", type=int, default=10000, help="cases of the request count's desk"
    )
    parser.add_argument("--mode", choices=("rest", "bulk", "both"), default="both")
    parser.add_argument(
        "--memory-cases", type=int, nargs="+", default=[10000, 100000], metavar="CASES",
        help="desks whose Bulk backfill peak memory is compared to the first's (--mode bulk|both)",
    )  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="requests only")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="add a traced Bulk run of each memory desk"
    )
    parser.add_argument(
        "--bulk-threshold", type=int, default=None,
        help="bulk_threshold of the Bulk runs (default: half the desk's cases)",
    )  # fmt: skip
    parser.add_argument("--bulk-page-records", type=int, default=10000)
    parser.add_argument(
        "--polls", type=int, default=1, help="status polls a Bulk job answers InProgress to"
    )
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    def threshold(cases: int) -> int:
        return args.bulk_threshold if args.bulk_threshold is not None else cases // 2

    skip_memory = args.no_memory or args.mode == "rest"
    memory_sizes = [] if skip_memory else list(dict.fromkeys(args.memory_cases))
    memory: dict[int, dict[str, Any]] = {}
    traced: dict[int, dict[str, Any]] = {}
    for cases in dict.fromkeys([args.cases, *memory_sizes]):
        with SandboxProcess(cases, args.days, args.seed, args.polls) as sandbox:
            desk = sandbox.desk
            rows = desk.rows
            print(
                f"\nDesk of {cases:,} cases: {rows['Case']:,} cases, {rows['CaseHistory']:,} "
                f"history rows, {rows['Case_Survey__c']:,} ratings, {rows['User']:,} users "
                f"(generated in {desk.seconds:.0f} s)"
            )
            if cases == args.cases and args.mode in ("rest", "both"):
                figures = measured_backfill(sandbox, args.days, ALL_REST, REST_PAGE, False)
                print_requests(
                    "REST backfill", desk, figures, page_size_minimum(rows, ALL_REST, REST_PAGE)
                )
            if cases == args.cases and args.mode == "rest":
                continue
            limit = threshold(cases)
            figures = measured_backfill(sandbox, args.days, limit, args.bulk_page_records, False)
            print_requests(
                f"Bulk backfill (bulk_threshold {limit:,}, bulk_page_records "
                f"{args.bulk_page_records:,}, {args.polls} InProgress poll(s) a job)",
                desk,
                figures,
                page_size_minimum(rows, limit, args.bulk_page_records),
            )
            memory[cases] = figures
            if args.tracemalloc and cases in memory_sizes:
                traced[cases] = measured_backfill(
                    sandbox, args.days, limit, args.bulk_page_records, True
                )
    if len(memory_sizes) >= 2:
        print_memory(memory_sizes, memory, traced)


def print_memory(
    sizes: list[int], memory: dict[int, dict[str, Any]], traced: dict[int, dict[str, Any]]
) -> None:
    """Each desk's peaks, and each larger desk's over the first (smallest) one's."""
    print(
        "\nPeak memory of a Bulk backfill, deskmetrics' process only (ru_maxrss of a fresh "
        "process; the sandbox runs in another), MiB"
    )
    print(
        "      cases  before  at the last page  after scoring  growth in the pull  "
        "pages of cases / history"
    )
    for cases in sizes:
        m = memory[cases]
        pages = f"{m['streams']['cases']['pages']} / {m['streams']['case_history']['pages']}"
        print(
            f"  {cases:>9,}  {m['rss_before'] / MIB:6.1f}  {m['rss_pulled'] / MIB:16.1f}  "
            f"{m['rss_scored'] / MIB:13.1f}  {(m['rss_pulled'] - m['rss_before']) / MIB:18.1f}"
            f"  {pages:>24}"
        )
    first = memory[sizes[0]]
    for cases in sizes[1:]:
        m = memory[cases]
        growth = (m["rss_pulled"] - m["rss_before"]) / (first["rss_pulled"] - first["rss_before"])
        print(
            f"  {cases:,} / {sizes[0]:,}: peak at the last page "
            f"{m['rss_pulled'] / first['rss_pulled']:.2f}x (goal 1.2x), growth in the pull "
            f"{growth:.2f}x, peak after scoring {m['rss_scored'] / first['rss_scored']:.2f}x"
        )
    if len(traced) != len(sizes):
        return
    print("  traced (tracemalloc, from after imports), MiB: at the last page, after scoring")
    for cases in sizes:
        t = traced[cases]
        print(
            f"  {cases:>9,}  {t['traced_pulled'] / 2**20:6.1f}  "
            f"{t['traced_scored'] / 2**20:6.1f}  ({t['seconds']:.0f} s traced)"
        )
    first = traced[sizes[0]]
    for cases in sizes[1:]:
        t = traced[cases]
        print(
            f"  {cases:,} / {sizes[0]:,}: traced peak at the last page "
            f"{t['traced_pulled'] / first['traced_pulled']:.2f}x, after scoring "
            f"{t['traced_scored'] / first['traced_scored']:.2f}x"
        )


if __name__ == "__main__":
    main()
