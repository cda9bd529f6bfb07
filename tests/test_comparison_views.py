"""The comparison views for BI tools, on SQLite and PostgreSQL, give the manager's page's
numbers: each agent's week with the team's rate and the funnel limits, and the change
against the week before with its z (docs/metrics.md "Comparing agents and periods")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, select

from deskmetrics.page import METRICS, PageData, counts, page_data
from deskmetrics.settings import DatabaseSettings, Settings
from scoring.comparison import Z_95, Z_998, change_test, funnel_limits
from warehouse.schema import agent_day_facts

NOW = datetime(2026, 3, 1, tzinfo=UTC)
WEEK = date(2026, 1, 12)  # a Monday
BEFORE = WEEK - timedelta(days=7)


def fact(agent_id: str, day: date, **counted: int) -> dict[str, Any]:
    row: dict[str, Any] = {name: 0 for name in ("handled", "transferred_out", "resolved",
                                               "fcr_eligible", "fcr", "csat_responses",
                                               "csat_satisfied")}  # fmt: skip
    row.update(source="zendesk", agent_id=agent_id, day=day, csat_score_sum=0.0, computed_at=NOW)
    row.update(counted)
    return row


FACTS = [
    fact("1", BEFORE, handled=40, transferred_out=4, fcr_eligible=30, fcr=27, csat_responses=10,
         csat_satisfied=9),
    fact("1", WEEK, handled=50, transferred_out=15, fcr_eligible=40, fcr=20, csat_responses=12,
         csat_satisfied=6),
    fact("1", WEEK + timedelta(days=2), handled=5, transferred_out=1, fcr_eligible=4, fcr=2),
    fact("2", WEEK, handled=120, transferred_out=10, fcr_eligible=100, fcr=85, csat_responses=30,
         csat_satisfied=27),
    fact("2", BEFORE, handled=100, transferred_out=12, fcr_eligible=90, fcr=80),
    fact("", WEEK, fcr_eligible=6, fcr=3, csat_responses=2, csat_satisfied=1),
]  # fmt: skip


@pytest.fixture
def page(any_engine: Engine, tmp_path: Any) -> PageData:
    with any_engine.begin() as conn:
        conn.execute(agent_day_facts.insert(), FACTS)
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'unused.sqlite'}"))
    return page_data(any_engine, settings, WEEK, WEEK + timedelta(days=7), weeks=2)


def view(engine: Engine, name: str) -> dict[str | None, dict[str, Any]]:
    table = Table(name, MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table))]
    return {r["agent_id"]: r for r in rows if str(r["period_start"]) == str(WEEK)}


def test_the_funnel_view_has_the_pages_team_rate_and_limits(
    any_engine: Engine, page: PageData
) -> None:
    found = view(any_engine, "agent_funnel_by_week")
    assert set(found) == {row.agent_id for row in page.rows}
    for metric, _, _, _ in METRICS:
        team_x = sum(counts(row, metric)[0] for row in page.rows)
        team_n = sum(counts(row, metric)[1] for row in page.rows)
        for row in page.rows:
            shown = found[row.agent_id]
            x, n = counts(row, metric)
            assert shown[f"team_{metric}_pct"] == pytest.approx(100 * team_x / team_n)
            if n == 0:
                assert shown[f"{metric}_limit95_low"] is None
                continue
            assert shown[f"{metric}_pct"] == pytest.approx(100 * x / n)
            for z, level in ((Z_95, "95"), (Z_998, "998")):
                limits = funnel_limits(team_x / team_n, n, z)
                assert limits is not None
                assert shown[f"{metric}_limit{level}_low"] == pytest.approx(100 * limits[0])
                assert shown[f"{metric}_limit{level}_high"] == pytest.approx(100 * limits[1])
                outside = not limits[0] <= x / n <= limits[1]
                assert bool(shown[f"{metric}_outside{level}"]) is outside, (row.agent_id, metric)


def test_the_changes_view_has_the_pages_test_of_the_week_before(
    any_engine: Engine, page: PageData
) -> None:
    found = view(any_engine, "agent_changes_by_week")
    before = {row.agent_id: row for row in page.previous}
    checked = 0
    for row in page.rows:
        for metric, _, _, _ in METRICS:
            shown = found[row.agent_id]
            earlier = before.get(row.agent_id)
            bx, bn = counts(earlier, metric) if earlier else (0, 0)
            change = change_test(bx, bn, *counts(row, metric))
            if change is None:
                assert shown[f"{metric}_z"] is None
                continue
            checked += 1
            assert shown[f"{metric}_change_points"] == pytest.approx(change.points)
            assert shown[f"{metric}_z"] == pytest.approx(change.z)
            assert bool(shown[f"{metric}_beyond_chance"]) is change.beyond_chance
    assert checked >= 4
