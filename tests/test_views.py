"""The BI views on SQLite and PostgreSQL: sums of day facts per period, rates and intervals
as the report computes them, the low-sample flag (docs/metrics.md "Confidence"), and a
`period_start` that a BI tool and SQLAlchemy see as a DATE."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Date, Engine, MetaData, Table, inspect, select, text

from scoring.confidence import wilson_interval
from warehouse.schema import agent_day_facts, agents, source_completeness, upgrade_database
from warehouse.views import COUNT_COLUMNS, PERIODS, VIEW_COLUMNS, VIEW_NAMES

NOW = datetime(2026, 3, 1, tzinfo=UTC)
COUNTS = COUNT_COLUMNS[:-1]  # the integer counts; csat_score_sum is a float


def fact(agent_id: str, day: date, source: str = "zendesk", **counts: float) -> dict[str, Any]:
    row: dict[str, Any] = {name: 0 for name in COUNTS}
    row.update(source=source, agent_id=agent_id, day=day, csat_score_sum=0.0, computed_at=NOW)
    row.update(counts)
    return row


FACTS = [
    # Sunday 4 January: the week of Monday 29 December, the month of January.
    fact("1", date(2026, 1, 4), handled=3, transferred_out=1, resolved=2, fcr_eligible=2, fcr=1),
    fact("1", date(2026, 1, 5), handled=5, transferred_out=2, resolved=4, fcr_eligible=4, fcr=3),
    fact("1", date(2026, 1, 7), handled=4, csat_responses=3, csat_satisfied=2, csat_score_sum=200),
    fact("1", date(2026, 2, 2), handled=2, resolved=2, fcr_eligible=2, fcr=2),
    fact("2", date(2026, 1, 6), handled=1, transferred_out=1),
    fact("", date(2026, 1, 6), resolved=1, csat_responses=1, csat_score_sum=100, csat_satisfied=1),
    fact("1", date(2026, 1, 5), source="other", handled=7),
]


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def store_agents_and(engine: Engine, facts: list[dict[str, Any]]) -> None:
    rows = [
        {"source": "zendesk", "agent_id": "1", "name": "Ann", "email": "ann@example.com"},
        {"source": "zendesk", "agent_id": "2", "name": "Bo", "email": None},
    ]
    with engine.begin() as conn:
        conn.execute(agents.insert(), [{**r, "active": True, "seen_at": NOW} for r in rows])
        conn.execute(agent_day_facts.insert(), facts)


def view_rows(engine: Engine, period: str) -> list[dict[str, Any]]:
    view = Table(f"agent_rates_by_{period}", MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(view))]


def keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, str | None, date], dict[str, Any]]:
    return {(r["source"], r["agent_id"], r["period_start"]): r for r in rows}


@pytest.mark.parametrize("period", PERIODS)
def test_a_view_row_is_the_sum_of_the_day_facts_of_its_period(
    any_engine: Engine, period: str
) -> None:
    store_agents_and(any_engine, FACTS)
    expected: dict[tuple[str, str | None, date], dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(COUNT_COLUMNS, 0)
    )
    for f in FACTS:
        key = (f["source"], f["agent_id"] or None, period_start(f["day"], period))
        for name in COUNT_COLUMNS:
            expected[key][name] += f[name]

    got = keyed(view_rows(any_engine, period))

    assert {k: {n: got[k][n] for n in COUNT_COLUMNS} for k in got} == expected


def test_the_week_view_starts_weeks_on_monday_and_the_month_view_on_the_first(
    any_engine: Engine,
) -> None:
    store_agents_and(any_engine, FACTS)

    weeks = {r["period_start"] for r in view_rows(any_engine, "week")}
    months = {r["period_start"] for r in view_rows(any_engine, "month")}

    assert weeks == {date(2025, 12, 29), date(2026, 1, 5), date(2026, 2, 2)}
    assert months == {date(2026, 1, 1), date(2026, 2, 1)}


@pytest.mark.parametrize("name", VIEW_NAMES)
def test_period_start_is_a_date_column_to_a_bi_tool(any_engine: Engine, name: str) -> None:
    with any_engine.connect() as conn:
        if any_engine.dialect.name == "sqlite":
            # What a SQLite driver (JDBC, ODBC, Python) reports as the declared type.
            declared = {r[1]: r[2] for r in conn.execute(text(f"PRAGMA table_info({name})"))}
        else:
            declared = dict(
                conn.execute(
                    text(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = :name"
                    ),
                    {"name": name},
                ).all()
            )
    assert declared["period_start"].upper() == "DATE"


@pytest.mark.parametrize("period", PERIODS)
def test_period_start_reads_back_as_a_date(any_engine: Engine, period: str) -> None:
    store_agents_and(any_engine, FACTS)
    view = Table(f"agent_rates_by_{period}", MetaData(), autoload_with=any_engine)

    rows = view_rows(any_engine, period)

    assert isinstance(view.c.period_start.type, Date)
    assert rows and all(type(r["period_start"]) is date for r in rows)


def test_the_views_have_the_documented_columns_in_order(any_engine: Engine) -> None:
    for name in VIEW_NAMES:
        columns = [c["name"] for c in inspect(any_engine).get_columns(name)]
        assert tuple(columns) == VIEW_COLUMNS


def test_rates_and_intervals_are_those_of_the_summed_counts(any_engine: Engine) -> None:
    store_agents_and(any_engine, FACTS)
    (ann,) = [
        r
        for r in view_rows(any_engine, "month")
        if (r["source"], r["agent_id"], r["period_start"]) == ("zendesk", "1", date(2026, 1, 1))
    ]
    # January for Ann: handled 12, transferred 3; eligible 6, fcr 4; 3 responses, 2 satisfied.
    for metric, x, n in (("transfer", 3, 12), ("fcr", 4, 6), ("csat", 2, 3)):
        interval = wilson_interval(x, n)
        assert interval is not None
        assert ann[f"{metric}_pct"] == pytest.approx(100 * x / n)
        assert ann[f"{metric}_ci_low"] == pytest.approx(100 * interval[0])
        assert ann[f"{metric}_ci_high"] == pytest.approx(100 * interval[1])
    assert ann["csat_mean_pct"] == pytest.approx(200 / 3)


def test_a_zero_denominator_gives_empty_rate_and_interval(any_engine: Engine) -> None:
    store_agents_and(any_engine, [fact("2", date(2026, 1, 6), handled=1)])

    (bo,) = view_rows(any_engine, "day")

    empty = ["fcr_pct", "fcr_ci_low", "fcr_ci_high", "csat_pct", "csat_ci_low", "csat_ci_high"]
    assert [bo[c] for c in [*empty, "csat_mean_pct"]] == [None] * 7


def test_an_interval_at_none_or_all_reaches_exactly_0_or_100(any_engine: Engine) -> None:
    store_agents_and(any_engine, [fact("2", date(2026, 1, 6), handled=7, fcr_eligible=9, fcr=9)])

    (bo,) = view_rows(any_engine, "day")

    assert (bo["transfer_pct"], bo["transfer_ci_low"]) == (0.0, 0.0)
    assert (bo["fcr_pct"], bo["fcr_ci_high"]) == (100.0, 100.0)


def test_the_unassigned_row_has_an_empty_agent(any_engine: Engine) -> None:
    store_agents_and(any_engine, FACTS)

    rows = keyed(view_rows(any_engine, "day"))

    unassigned = rows[("zendesk", None, date(2026, 1, 6))]
    assert (unassigned["agent_name"], unassigned["resolved"]) == (None, 1)
    assert rows[("zendesk", "1", date(2026, 1, 5))]["agent_name"] == "Ann"


def test_low_sample_names_the_metrics_below_min_sample_in_report_order(any_engine: Engine) -> None:
    store_agents_and(
        any_engine,
        [
            fact("1", date(2026, 1, 5), handled=29, fcr_eligible=30, csat_responses=1),
            fact("2", date(2026, 1, 5), handled=30, fcr_eligible=5),
            fact("", date(2026, 1, 5), handled=40, fcr_eligible=30, csat_responses=30),
            fact("1", date(2026, 1, 6), handled=2, fcr_eligible=1, csat_responses=1),
        ],
    )

    rows = view_rows(any_engine, "day")
    flags = {(r["agent_id"], r["period_start"]): r["low_sample"] for r in rows}

    assert flags == {
        ("1", date(2026, 1, 5)): "transfer csat",
        ("2", date(2026, 1, 5)): "fcr",  # csat: no responses, so not named
        (None, date(2026, 1, 5)): "",
        ("1", date(2026, 1, 6)): "transfer fcr csat",
    }


def test_low_sample_is_judged_on_the_sums_of_the_period(any_engine: Engine) -> None:
    days = [date(2026, 1, 5) + timedelta(days=n) for n in range(3)]
    store_agents_and(any_engine, [fact("1", day, handled=10) for day in days])

    (week,) = view_rows(any_engine, "week")
    daily = {r["low_sample"] for r in view_rows(any_engine, "day")}

    assert (week["handled"], week["low_sample"], daily) == (30, "", {"transfer"})


def test_the_views_follow_a_changed_min_sample(any_engine: Engine) -> None:
    store_agents_and(any_engine, [fact("1", date(2026, 1, 5), handled=10)])
    url = any_engine.url.render_as_string(hide_password=False)
    flags = []
    for min_sample in (5, 11):
        engine, _ = upgrade_database(url, min_sample=min_sample)
        flags.append([r["low_sample"] for r in view_rows(engine, "day")])
        engine.dispose()

    assert flags == [[""], ["transfer"]]


def _completeness(engine: Engine, source: str, provisional_from: date | None) -> None:
    mark = None if provisional_from is None else NOW
    with engine.begin() as conn:
        conn.execute(
            source_completeness.insert(),
            [{"source": source, "high_water_mark": mark, "provisional_from": provisional_from,
              "computed_at": NOW}],
        )  # fmt: skip


@pytest.mark.parametrize(
    ("period", "settled", "provisional"),
    [
        ("day", date(2026, 1, 5), date(2026, 1, 7)),
        # The week of 5 January holds 6 January: provisional as a whole.
        ("week", date(2025, 12, 29), date(2026, 1, 5)),
        ("month", None, date(2026, 1, 1)),
    ],
)
def test_a_period_holding_a_provisional_day_is_provisional(
    any_engine: Engine, period: str, settled: date | None, provisional: date
) -> None:
    store_agents_and(any_engine, FACTS)
    _completeness(any_engine, "zendesk", date(2026, 1, 6))
    rows = keyed(view_rows(any_engine, period))
    assert bool(rows[("zendesk", "1", provisional)]["provisional"]) is True
    if settled is not None:
        assert bool(rows[("zendesk", "1", settled)]["provisional"]) is False


def test_every_period_of_a_source_never_read_completely_is_provisional(
    any_engine: Engine,
) -> None:
    store_agents_and(any_engine, FACTS)
    _completeness(any_engine, "zendesk", date(2026, 1, 6))  # "other" has no row at all
    rows = [r for r in view_rows(any_engine, "day") if r["source"] == "other"]
    assert rows and all(bool(r["provisional"]) for r in rows)
    assert all(r["high_water_mark"] is None for r in rows)


@pytest.mark.parametrize(
    ("view", "index"), [("week", "ix_facts_week"), ("month", "ix_facts_month")]
)
def test_a_bi_filter_on_one_period_reads_the_facts_by_index(
    tmp_path: Any, view: str, index: str
) -> None:
    engine, _ = upgrade_database(f"sqlite:///{tmp_path / 'w.sqlite'}")
    query = f"EXPLAIN QUERY PLAN SELECT * FROM agent_rates_by_{view} WHERE period_start = :d"
    with engine.connect() as conn:
        plan = " | ".join(row[-1] for row in conn.execute(text(query), {"d": "2026-11-02"}))
    assert f"USING INDEX {index}" in plan, plan
