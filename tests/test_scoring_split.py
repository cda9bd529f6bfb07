"""A day's facts do not depend on which other days are scored with it (issue 9.3).

A real SQLite warehouse holds a few hand-made interactions: owners known only at creation
(from the ticket's assignee, or from the first recorded change's previous owner), transfers,
resolutions with and without a recorded change, a reopen, ratings and repeat contacts across
days, a deleted ticket. Scoring any split of the days, in any order, must leave the same
`agent_day_facts` as `score --all`, and those must be what `score_days` makes of every
history at once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from deskmetrics import pipeline, rescoring
from deskmetrics.settings import Settings
from interactions import History, Interaction, OwnershipChange, Rating, StatusChange
from scoring import AgentDayFact, Contact, ScoringSettings, score_days
from warehouse.day_marks import DirtyRule
from warehouse.schema import FACT_COUNTS, agent_day_facts, dirty_days, open_engine
from warehouse.store import store_page

SOURCE = "zendesk"
T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; the US moves to summer time on day 6
HIGH_WATER_MARK = T0 + timedelta(days=14)
SPAN = 17  # local days -1 .. 15 hold every moment below, in UTC and in Los Angeles
FIRST_DAY = T0.date() - timedelta(days=1)
ZONES = ("UTC", "America/Los_Angeles")
RESOLVED = ("solved", "closed")


def on(day: int, hour: float) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


def ticket(
    iid: str,
    created: datetime,
    updated: datetime,
    status: str,
    customer: str | None,
    owner: str | None,
    solved_at: datetime | None = None,
    deleted: bool = False,
) -> Interaction:
    return Interaction(
        SOURCE, iid, created, updated, status, status in RESOLVED, deleted, customer, owner,
        None, solved_at,
    )  # fmt: skip


def own(iid: str, update: int, at: datetime, before: str | None, after: str | None) -> Any:
    return OwnershipChange(SOURCE, f"{iid}o{update}", iid, f"{iid}u{update}", at, before, after)


def status(iid: str, update: int, at: datetime, before: str | None, after: str) -> Any:
    was = None if before is None else before in RESOLVED
    return StatusChange(
        SOURCE, f"{iid}s{update}", iid, f"{iid}u{update}", at, before, after, was, after in RESOLVED
    )


def rate(iid: str, at: datetime, score: str, agent: str | None) -> Any:
    return Rating(SOURCE, f"r{iid}", iid, agent, score, None, at, None)


def desk() -> list[Any]:
    """The records of the hand-made desk; comments say what each ticket is there for."""
    return [
        # Owner A known only from the ticket's assignee (no change read): handled on day 0,
        # which no other moment of this ticket falls on; resolved on day 2, not FCR (t2).
        ticket("t1", on(0, 10), on(2, 15), "solved", "c1", "A"),
        status("t1", 1, on(2, 15), "open", "solved"),
        # Owner B known only from the first change's previous owner: handled and transferred
        # out on day 1 (its creation), C takes it on day 4, solves it on day 5, rated day 6.
        ticket("t2", on(1, 23.5), on(5, 1), "solved", "c1", "C"),
        own("t2", 1, on(4, 9), "B", "C"),
        status("t2", 2, on(5, 1), "open", "solved"),
        rate("t2", on(6, 2), "good", None),
        # Solved by A, reopened and handed to B in one update, solved again by B.
        ticket("t3", on(2, 8), on(5, 20), "solved", "c2", "B"),
        own("t3", 1, on(2, 8), None, "A"),
        status("t3", 1, on(2, 8), None, "new"),
        status("t3", 2, on(3, 7.5), "new", "solved"),
        own("t3", 3, on(4, 12), "A", "B"),
        status("t3", 3, on(4, 12), "solved", "open"),
        status("t3", 4, on(5, 20), "open", "solved"),
        rate("t3", on(5, 23.9), "good", "B"),
        # Solved by A, reopened and open now; its rating names no agent: A, the last resolver.
        ticket("t4", on(3, 6), on(6, 10), "open", "c2", "A"),
        own("t4", 1, on(3, 6), None, "A"),
        status("t4", 1, on(3, 6), None, "open"),
        status("t4", 2, on(3, 9), "open", "solved"),
        status("t4", 3, on(6, 10), "solved", "open"),
        rate("t4", on(4, 0.5), "bad", None),
        # Created late on day 6 in UTC, still day 5 in Los Angeles; C hands it to a group.
        ticket("t5", on(6, 7.5), on(7, 3), "open", "c3", None),
        own("t5", 1, on(7, 3), "C", None),
        # FCR: its customer's next contact (t7) comes after the window; t8 is deleted.
        ticket("t6", on(8, 11), on(8, 12), "solved", "c3", "A"),
        own("t6", 1, on(8, 11), None, "A"),
        status("t6", 1, on(8, 11), None, "new"),
        status("t6", 2, on(8, 12), "new", "solved"),
        # Owner B known only at creation; solved the same day, still FCR-pending.
        ticket("t7", on(12, 0), on(12, 5), "solved", "c3", "B"),
        status("t7", 1, on(12, 5), "new", "solved"),
        ticket("t8", on(9, 0), on(9, 1), "deleted", "c3", "A", deleted=True),
        own("t8", 1, on(9, 0), None, "A"),
        # Resolved with no recorded change: solved_at stands in (day 2) ...
        ticket("t9", on(1, 5), on(10, 0), "solved", "c4", "A", solved_at=on(2, 3)),
        own("t9", 1, on(1, 5), None, "A"),
        # ... and without solved_at, updated_at (day 10); C known only at creation (day 9).
        ticket("t10", on(9, 22), on(10, 1), "solved", "c4", "C"),
        # Not FCR: its customer comes back (t13) after the resolution, inside the window.
        ticket("t12", on(10, 2), on(10, 2), "solved", "c5", "A"),
        own("t12", 1, on(10, 2), None, "A"),
        status("t12", 1, on(10, 2), None, "solved"),
        ticket("t13", on(11, 0), on(11, 0), "open", "c5", "C"),
        own("t13", 1, on(11, 0), None, "C"),
        # Never owned: its resolution and response go to the unassigned row.
        ticket("t11", on(3, 1), on(3, 2), "solved", None, None),
        status("t11", 1, on(3, 2), "new", "solved"),
        rate("t11", on(3, 4), "good", "A"),
    ]


def build(path: Path) -> Engine:
    engine = open_engine(f"sqlite:///{path}")
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    store_page(engine, SOURCE, "tickets", desk(), {}, rule, HIGH_WATER_MARK, HIGH_WATER_MARK)
    with engine.begin() as conn:
        # As if every day had been scored before: each score below scores exactly its part.
        conn.execute(dirty_days.delete())
    return engine


def stored_facts(engine: Engine) -> list[tuple[Any, ...]]:
    compared = ("source", "agent_id", "day", *FACT_COUNTS, "csat_score_sum")
    columns = [agent_day_facts.c[name] for name in compared]
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(*columns)))


def as_rows(facts: list[AgentDayFact]) -> list[tuple[Any, ...]]:
    return sorted(
        (f.source, f.agent_id or "", f.day, f.handled, f.transferred_out, f.resolved,
         f.fcr_eligible, f.fcr, f.csat_responses, f.csat_satisfied, f.csat_score_sum)
        for f in facts
    )  # fmt: skip


def everything_at_once(zone: str) -> list[AgentDayFact]:
    """`score_days` over every history of the desk, with every contact: the oracle."""
    records = desk()
    found = []
    for interaction in (r for r in records if isinstance(r, Interaction)):
        iid = interaction.interaction_id
        mine = [r for r in records if getattr(r, "interaction_id", None) == iid]
        found.append(
            History(
                interaction,
                tuple(r for r in mine if isinstance(r, OwnershipChange)),
                tuple(r for r in mine if isinstance(r, StatusChange)),
                tuple(r for r in mine if isinstance(r, Rating)),
            )
        )
    contacts: dict[tuple[str, str], list[Contact]] = {}
    for h in found:
        i = h.interaction
        if i.customer_id is not None and not i.deleted:
            contacts.setdefault((SOURCE, i.customer_id), []).append(
                Contact(i.interaction_id, i.created_at)
            )
    return score_days(found, contacts, {SOURCE: HIGH_WATER_MARK}, ScoringSettings(timezone=zone))


def parts_of(order: list[int], cuts: set[int]) -> list[list[date]]:
    bounds = [0, *sorted(cuts), len(order)]
    return [
        [FIRST_DAY + timedelta(days=n) for n in order[a:b]] for a, b in pairwise(bounds) if a < b
    ]


@settings(max_examples=30, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    order=st.permutations(range(SPAN)),
    cuts=st.sets(st.integers(1, SPAN - 1)),
)
@example(zone="UTC", order=list(range(SPAN)), cuts=set(range(1, SPAN)))
@example(zone="America/Los_Angeles", order=list(range(SPAN))[::-1], cuts=set(range(1, SPAN)))
def test_scoring_any_split_of_days_in_any_order_gives_the_facts_of_score_all(
    tmp_path_factory: pytest.TempPathFactory, zone: str, order: list[int], cuts: set[int]
) -> None:
    engine = build(tmp_path_factory.mktemp("split") / "warehouse.sqlite")
    config = Settings(timezone=zone)
    for part in parts_of(order, cuts):
        pipeline.score(engine, config, days=part, now=HIGH_WATER_MARK)
    split = stored_facts(engine)
    pipeline.score(engine, config, everything=True, now=HIGH_WATER_MARK)
    assert split == stored_facts(engine)
    assert split == as_rows(everything_at_once(zone))
    engine.dispose()


@pytest.mark.parametrize("zone", ZONES)
def test_score_all_on_a_new_warehouse_covers_the_creation_days(tmp_path: Path, zone: str) -> None:
    engine = build(tmp_path / "warehouse.sqlite")
    pipeline.score(engine, Settings(timezone=zone), everything=True, now=HIGH_WATER_MARK)
    assert stored_facts(engine) == as_rows(everything_at_once(zone))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One warehouse for tests that only read it."""
    return build(tmp_path_factory.mktemp("read-only") / "warehouse.sqlite")


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    picked=st.sets(st.integers(0, SPAN - 1), min_size=1),
    batch_size=st.integers(1, 5),
)
def test_facts_of_days_read_in_any_batches_are_those_days_of_the_whole(
    warehouse: Engine, zone: str, picked: set[int], batch_size: int
) -> None:
    days = [FIRST_DAY + timedelta(days=n) for n in picked]
    scoring = ScoringSettings(timezone=zone)
    found = rescoring.facts_of_days(warehouse, SOURCE, days, scoring, batch_size=batch_size)
    assert as_rows(found) == as_rows([f for f in everything_at_once(zone) if f.day in days])
