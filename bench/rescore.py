"""Benchmark scoring: time for one customer with many interactions, time to rescore every
day of a large warehouse, and the peak memory of that rescore. Prints labelled figures;
asserts nothing.

    python bench/rescore.py [--customer-sizes 1000,10000,100000] [--warehouse-sizes 10000,100000]
                            [--days 90] [--seed 7] [--no-memory]

One customer: `score_days` over hand-built histories (assigned, solved an hour later, one a
minute; every other one is a repeat contact of the one before), then the same customer
stored in a SQLite warehouse and rescored with `score --all` (up to 10,000). A warehouse:
generated model records (transfers, resolutions, reopens, ratings, repeat contacts) stored
through `warehouse.upserts.store_records` into a fresh SQLite file, then `score --all` timed,
then run again under tracemalloc for its peak.
"""

from __future__ import annotations

import argparse
import random
import shlex
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from deskmetrics import pipeline
from deskmetrics.settings import Settings
from interactions import History, Interaction, OwnershipChange, Rating, StatusChange
from scoring import Contact, ScoringSettings, score_days
from warehouse.cursors import raise_high_water_mark
from warehouse.day_marks import DirtyRule
from warehouse.schema import open_engine
from warehouse.upserts import store_records

SOURCE = "zendesk"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WAREHOUSE_CUSTOMER_LIMIT = 10_000  # one customer through the warehouse up to this size
PAGE = 5_000  # records stored per transaction while building a warehouse


def _one_customer(count: int) -> list[list[Any]]:
    """`count` tickets of one customer, one a minute, each assigned to A and solved an
    hour later; as records of each ticket."""
    tickets = []
    for n in range(count):
        iid = str(n)
        created = T0 + timedelta(minutes=n)
        solved = created + timedelta(hours=1)
        tickets.append(
            [
                Interaction(SOURCE, iid, created, solved, "solved", True, False, "c1", "A", None),
                OwnershipChange(SOURCE, f"o{iid}", iid, f"u{iid}", created, None, "A"),
                StatusChange(SOURCE, f"s{iid}", iid, f"v{iid}", solved, "new", "solved",
                             False, True),
            ]
        )  # fmt: skip
    return tickets


def _history(records: list[Any]) -> History:
    return History(
        records[0],
        tuple(r for r in records if isinstance(r, OwnershipChange)),
        tuple(r for r in records if isinstance(r, StatusChange)),
        tuple(r for r in records if isinstance(r, Rating)),
    )


def bench_one_customer(count: int) -> None:
    tickets = _one_customer(count)
    histories = [_history(t) for t in tickets]
    contacts = {(SOURCE, "c1"): [Contact(h.interaction.interaction_id, h.interaction.created_at)
                                 for h in histories]}  # fmt: skip
    far = T0 + timedelta(minutes=count, days=10)  # every window closed, few empty days
    started = time.perf_counter()
    score_days(histories, contacts, {SOURCE: far}, ScoringSettings())
    pure = time.perf_counter() - started
    print(f"one customer, {count:>7,} interactions: score_days {pure:8.2f} s")
    if count > WAREHOUSE_CUSTOMER_LIMIT:
        return
    engine, _ = _fresh_warehouse(f"customer-{count}")
    _store_all(engine, (r for t in tickets for r in t), far)
    took = _rescore(engine)
    print(f"one customer, {count:>7,} interactions: score --all through SQLite {took:8.2f} s")


def _desk(tickets: int, days: int, seed: int, agent_count: int = 0) -> Iterator[Any]:
    """Model records of a generated desk: `agent_count` agents (0: about one per 120
    tickets), three tickets per ten customers; transfers, solves, reopens, ratings."""
    rng = random.Random(seed)
    agents = [f"a{n}" for n in range(agent_count or max(25, tickets // 120))]
    customers = [f"c{n}" for n in range(max(900, tickets * 3 // 10))]
    span = days * 24 * 60
    for n in range(tickets):
        iid = str(n)
        at = T0 + timedelta(minutes=rng.randrange(span))
        created, owner, status = at, rng.choice(agents), "new"
        yield OwnershipChange(SOURCE, f"o{iid}.0", iid, f"{iid}.0", at, None, owner)
        yield StatusChange(SOURCE, f"s{iid}.0", iid, f"{iid}.0", at, None, "new", None, False)
        for step in range(1, rng.choice((1, 2, 2, 3, 4))):
            at += timedelta(minutes=rng.randrange(10, 3000))
            update = f"{iid}.{step}"
            if rng.random() < 0.25 and status != "solved":
                new_owner = rng.choice(agents)
                yield OwnershipChange(SOURCE, f"o{update}", iid, update, at, owner, new_owner)
                owner = new_owner
            new_status = "open" if status == "solved" else rng.choice(("open", "solved", "solved"))
            if new_status != status:
                yield StatusChange(SOURCE, f"s{update}", iid, update, at, status, new_status,
                                   status == "solved", new_status == "solved")  # fmt: skip
                status = new_status
        if status != "solved" and rng.random() < 0.8:
            at += timedelta(minutes=rng.randrange(10, 3000))
            yield StatusChange(SOURCE, f"s{iid}.z", iid, f"{iid}.z", at, status, "solved",
                               False, True)  # fmt: skip
            status = "solved"
        if status == "solved" and rng.random() < 0.3:
            rated = at + timedelta(hours=rng.randrange(1, 48))
            score = rng.choice(("good", "good", "good", "bad"))
            yield Rating(SOURCE, f"r{iid}", iid, owner, score, None, rated, rated)
        yield Interaction(SOURCE, iid, created, at, status, status == "solved", False,
                          rng.choice(customers), owner, None)  # fmt: skip


def _fresh_warehouse(name: str) -> tuple[Engine, Path]:
    path = Path(tempfile.mkdtemp(prefix="deskmetrics-bench-")) / f"{name}.sqlite"
    return open_engine(f"sqlite:///{path}"), path


def _store_all(engine: Engine, records: Iterator[Any], high_water_mark: datetime) -> None:
    page: list[Any] = []
    for record in records:
        page.append(record)
        if len(page) >= PAGE:
            with engine.begin() as conn:
                store_records(conn, page, high_water_mark)
            page = []
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    with engine.begin() as conn:
        store_records(conn, page, high_water_mark)
        raise_high_water_mark(conn, SOURCE, high_water_mark, rule, high_water_mark)


def _rescore(engine: Engine) -> float:
    started = time.perf_counter()
    pipeline.score(engine, Settings(), everything=True)
    return time.perf_counter() - started


def bench_warehouse(tickets: int, days: int, seed: int, memory: bool, agents: int = 0) -> None:
    engine, path = _fresh_warehouse(f"desk-{tickets}")
    started = time.perf_counter()
    _store_all(engine, _desk(tickets, days, seed, agents), T0 + timedelta(days=days + 7))
    built = time.perf_counter() - started
    size = path.stat().st_size / 2**20
    print(f"warehouse {tickets:>7,} tickets over {days} days: built in {built:.1f} s", end="")
    print(f" ({size:.0f} MB)")
    print(f"warehouse {tickets:>7,} tickets: rescore all days {_rescore(engine):8.2f} s")
    if memory:
        tracemalloc.start()
        _rescore(engine)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"warehouse {tickets:>7,} tickets: rescore peak memory {peak / 2**20:8.1f} MiB")


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customer-sizes", type=_sizes, default=[1_000, 10_000, 100_000])
    parser.add_argument("--warehouse-sizes", type=_sizes, default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true", help="skip the traced rescore")
    parser.add_argument(
        "--agents",
        type=int,
        default=0,
        help="agents in every warehouse (default: one per 120 tickets); a fixed number shows "
        "whether memory grows with the history kept rather than with the team",
    )
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    for count in args.customer_sizes:
        bench_one_customer(count)
    for tickets in args.warehouse_sizes:
        bench_warehouse(tickets, args.days, args.seed, not args.no_memory, args.agents)


if __name__ == "__main__":
    main()
