"""The credit ledger adds up to `agent_day_facts` (docs/metrics.md "Explaining a figure").

Generated desks (the histories of tests/test_scoring_properties.py) are stored in a real
SQLite warehouse and scored, all at once or a split of days at a time; the ledger's rows
summed per source, agent and day must then be the stored facts, count for count. The
credits of one hand-made ticket say what decided them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from deskmetrics import pipeline
from deskmetrics.explain import explain
from deskmetrics.settings import FcrSettings, Settings
from interactions import History, Interaction, OwnershipChange, Rating, StatusChange
from scoring import ScoringSettings, credits_of
from scoring.ledger import Contact, ContactIndex
from tests.test_scoring_properties import Case, cases
from warehouse.day_marks import DirtyRule
from warehouse.schema import (
    FACT_COUNTS,
    agent_day_facts,
    credit_ledger,
    dirty_days,
    open_engine,
)
from warehouse.store import store_page

SOURCE = "zd"
COUNTS = (*FACT_COUNTS, "csat_score_sum")


def records_of(history: History) -> list[Any]:
    """The history's records with ids unique across the desk (the generator reuses them)."""
    iid = history.interaction.interaction_id
    return [
        history.interaction,
        *(replace(c, change_id=f"{iid}-{c.change_id}") for c in history.ownership),
        *(replace(c, change_id=f"{iid}-{c.change_id}") for c in history.statuses),
        *(replace(r, rating_id=f"{iid}-{r.rating_id}") for r in history.ratings),
    ]


def stored(case: Case, path: Path) -> tuple[Engine, Settings]:
    engine = open_engine(f"sqlite:///{path}")
    zone = case.settings.timezone
    rule = DirtyRule(timezone=zone, repeat_window=timedelta(hours=72))
    records = [r for h in case.histories for r in records_of(h)]
    store_page(
        engine, SOURCE, "tickets", records, {}, rule, case.hwm, datetime(2024, 5, 1, tzinfo=UTC)
    )
    config = Settings(
        timezone=zone, fcr=FcrSettings(transfer_breaks_fcr=case.settings.transfer_breaks_fcr)
    )
    return engine, config


def facts_table(engine: Engine) -> list[tuple[Any, ...]]:
    keys = (agent_day_facts.c.source, agent_day_facts.c.agent_id, agent_day_facts.c.day)
    with engine.connect() as conn:
        rows = conn.execute(select(*keys, *(agent_day_facts.c[n] for n in COUNTS)))
        return sorted(tuple(row) for row in rows)


def ledger_summed(engine: Engine) -> list[tuple[Any, ...]]:
    keys = (credit_ledger.c.source, credit_ledger.c.agent_id, credit_ledger.c.day)
    sums = (func.sum(credit_ledger.c[n]) for n in COUNTS)
    with engine.connect() as conn:
        rows = conn.execute(select(*keys, *sums).group_by(*keys))
        return sorted(tuple(row) for row in rows)


def assert_equal(ledger: list[tuple[Any, ...]], facts: list[tuple[Any, ...]]) -> None:
    assert [row[:-1] for row in ledger] == [row[:-1] for row in facts]
    # csat_score_sum: the facts add Fractions exactly, SQL adds floats.
    assert [row[-1] for row in ledger] == pytest.approx([row[-1] for row in facts])


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_the_ledger_summed_per_source_agent_and_day_is_agent_day_facts(
    tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    engine, config = stored(case, tmp_path_factory.mktemp("ledger") / "w.sqlite")
    pipeline.score(engine, config, everything=True, now=datetime(2024, 5, 1, tzinfo=UTC))
    assert_equal(ledger_summed(engine), facts_table(engine))
    engine.dispose()


@settings(max_examples=30, deadline=None)
@given(case=cases(), cut=st.integers(1, 12))
def test_the_ledger_scored_a_few_days_at_a_time_still_sums_to_the_facts(
    tmp_path_factory: pytest.TempPathFactory, case: Case, cut: int
) -> None:
    engine, config = stored(case, tmp_path_factory.mktemp("split") / "w.sqlite")
    with engine.begin() as conn:
        conn.execute(dirty_days.delete())  # each score below scores exactly its part
    now = datetime(2024, 5, 1, tzinfo=UTC)
    first = datetime(2024, 3, 24, tzinfo=UTC).date()
    days = [first + timedelta(days=n) for n in range(20)]
    pipeline.score(engine, config, days=days[cut:], now=now)
    pipeline.score(engine, config, days=days[:cut], now=now)
    assert_equal(ledger_summed(engine), facts_table(engine))
    engine.dispose()


T0 = datetime(2024, 5, 6, 9, tzinfo=UTC)


def test_a_credit_names_the_transfer_the_reopen_and_the_repeat_contact() -> None:
    at = [T0 + timedelta(hours=n) for n in range(10)]
    ticket = Interaction(SOURCE, "1", at[0], at[5], "solved", True, False, "c", "b", None)
    history = History(
        ticket,
        (
            OwnershipChange(SOURCE, "o1", "1", "u1", at[1], None, "a"),
            OwnershipChange(SOURCE, "o2", "1", "u2", at[2], "a", "b"),
        ),
        (
            StatusChange(SOURCE, "s1", "1", "u3", at[3], "open", "solved", False, True),
            StatusChange(SOURCE, "s2", "1", "u4", at[4], "solved", "open", True, False),
            StatusChange(SOURCE, "s3", "1", "u5", at[5], "open", "solved", False, True),
        ),
        (Rating(SOURCE, "r1", "1", None, "good", None, at[6], None),),
    )
    index = ContactIndex({(SOURCE, "c"): [Contact("2", at[7])]}, frozenset())
    found = {
        (c.kind, c.key): c
        for c in credits_of(history, index, at[5] + timedelta(days=4), ScoringSettings())
    }
    handled = found[("handled", "a")]
    assert (handled.verdict, handled.transferred_at, handled.transferred_to) == (
        "transferred",
        at[2],
        "b",
    )
    resolution = found[("resolution", "")]
    assert (resolution.agent_id, resolution.verdict, resolution.reopened_at) == (
        "b",
        "not_fcr",
        at[4],
    )
    assert (resolution.repeat_interaction_id, resolution.repeat_created_at) == ("2", at[7])
    assert "reopened at 2024-05-06 13:00 UTC" in resolution.reason
    response = found[("csat", "")]
    assert (response.agent_id, response.verdict) == ("b", "satisfied")
    assert "the resolver" in response.reason


@settings(max_examples=30, deadline=None)
@given(case=cases())
def test_explains_totals_equal_every_report_row_for_every_metric(
    tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    engine, config = stored(case, tmp_path_factory.mktemp("explain") / "w.sqlite")
    since, until = datetime(2024, 3, 1).date(), datetime(2024, 6, 1).date()
    rows = pipeline.report(engine, config, since, until, SOURCE)
    for row in (r for r in rows if r.agent_id is not None):
        found = explain(engine, config, row.agent_id, since, until, source=SOURCE)
        assert found.agrees, found.checks
        assert {c.column for c in found.checks} >= {"handled", "fcr", "csat_responses"}
    engine.dispose()
