"""Benchmark the credit ledger's cost in `score`: every day of one generated warehouse
scored with the ledger written (`score --all` as shipped) and without it (the same chunks
of days scored and only their `agent_day_facts` written). Prints labelled figures, wall
and CPU seconds (the machine may be shared: CPU time varies less); asserts nothing.

    python -m bench.ledger [--tickets 100000] [--days 90] [--seed 7] [--repeat 2]

The warehouse is bench/rescore.py's generated desk. "Without" still computes the credits,
because scoring makes the facts by adding credits up (scoring/facts.py): it measures what
keeping the ledger costs on top of the facts, not what computing credits costs against
the scoring before the ledger existed. For that, run bench/rescore.py in a tree of the
commit before the ledger and in this one (e.g. `git archive 2821a8f | tar -x -C DIR`).
Each variant runs `--repeat` times, alternating, on the same warehouse; the best is shown.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from bench.rescore import SOURCE, T0, _desk, _fresh_warehouse, _store_all
from deskmetrics import pipeline
from deskmetrics.rescoring import _chunks, facts_of_days
from deskmetrics.settings import Settings
from warehouse.day_marks import mark_days
from warehouse.facts import all_fact_days, dirty_marks, replace_day_facts
from warehouse.schema import credit_ledger

Timing = tuple[float, float]  # wall seconds, CPU seconds


def _timed(work: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def score_with_ledger(engine: Engine, settings: Settings) -> None:
    pipeline.score(engine, settings, everything=True)


def score_facts_only(engine: Engine, settings: Settings) -> None:
    """Every day scored in `score`'s chunks, its facts written and no ledger row."""
    scoring = settings.scoring()
    with engine.begin() as conn:
        mark_days(conn, SOURCE, all_fact_days(conn, SOURCE, scoring.timezone))
    now = datetime.now(UTC)
    for chunk in _chunks(engine, SOURCE, dirty_marks(engine, SOURCE), scoring):
        facts = facts_of_days(engine, SOURCE, [mark.day for mark in chunk.marks], scoring)
        replace_day_facts(engine, SOURCE, chunk.marks, facts, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, "-m", "bench.ledger", *sys.argv[1:]]))
    engine, path = _fresh_warehouse(f"ledger-{args.tickets}")
    built = _timed(
        lambda: _store_all(
            engine, _desk(args.tickets, args.days, args.seed), T0 + timedelta(days=args.days + 7)
        )
    )
    print(f"warehouse {args.tickets:,} tickets over {args.days} days: built in {built[0]:.1f} s")
    settings = Settings()
    best: dict[str, Timing] = {}
    for _ in range(args.repeat):
        for name, work in (("with ledger", score_with_ledger), ("facts only", score_facts_only)):
            took = _timed(lambda work=work: work(engine, settings))  # type: ignore[misc]
            best[name] = min(best.get(name, took), took)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(credit_ledger)).scalar_one()
    print(f"ledger rows: {rows:,} ({path.stat().st_size / 2**20:.0f} MB warehouse)")
    for name, (wall, cpu) in best.items():
        print(f"score all days, {name:<11}: {wall:7.2f} s wall, {cpu:7.2f} s CPU")
    (wall, cpu), (wall0, cpu0) = best["with ledger"], best["facts only"]
    print(f"with ledger / facts only: {wall / wall0:.2f}x wall, {cpu / cpu0:.2f}x CPU")


if __name__ == "__main__":
    main()
