"""docs/metrics.md "Confidence", "Rows of a report" and "People across sources" (scoring.report)."""

from __future__ import annotations

import dataclasses

import pytest

from interactions import Agent, InputError
from scoring import REPORT_COLUMNS, ReportRow, ScoringSettings, Totals, report_rows, wilson_interval

SETTINGS = ScoringSettings()


def totals(
    agent: str | None,
    *,
    source: str = "zendesk",
    handled: int = 0,
    transferred_out: int = 0,
    resolved: int = 0,
    fcr_eligible: int = 0,
    fcr: int = 0,
    csat_responses: int = 0,
    csat_satisfied: int = 0,
    csat_score_sum: float = 0.0,
) -> Totals:
    return Totals(
        source,
        agent,
        handled,
        transferred_out,
        resolved,
        fcr_eligible,
        fcr,
        csat_responses,
        csat_satisfied,
        csat_score_sum,
    )


def agent(
    agent_id: str, name: str | None, email: str | None = None, source: str = "zendesk"
) -> tuple[tuple[str, str], Agent]:
    return (source, agent_id), Agent(source, agent_id, name, email, "agent", True, None)


def rows(
    *items: Totals,
    agents: dict[tuple[str, str], Agent] | None = None,
    by: str = "agent",
    settings: ScoringSettings = SETTINGS,
) -> list[ReportRow]:
    return report_rows(items, agents or {}, by, settings)


# docs/metrics.md "Confidence": Wilson score interval


def test_wilson_interval_of_half_matches_hand_computation() -> None:
    # p = 0.5, n = 10: centre 0.5, half-width 1.96*sqrt(0.025 + 0.009604)/1.38416 = 0.263410
    low, high = wilson_interval(5, 10) or (0.0, 0.0)
    assert low == pytest.approx(0.236590, abs=1e-6)
    assert high == pytest.approx(0.763410, abs=1e-6)


def test_wilson_interval_at_the_edges_matches_hand_computation() -> None:
    # p = 0: (0, z²/(n+z²)) = (0, 3.8416/13.8416); p = 1: (n/(n+z²), 1)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.277540), abs=1e-6)
    assert wilson_interval(10, 10) == pytest.approx((0.722460, 1.0), abs=1e-6)


def test_wilson_interval_of_no_trials_is_none() -> None:
    assert wilson_interval(0, 0) is None


def test_wilson_interval_refuses_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_rates_and_intervals_are_percent_rounded_half_up() -> None:
    (row,) = rows(totals("A", handled=400, transferred_out=49))
    assert row.transfer_pct == 12.3  # 12.25 rounds up, not to even
    low, high = wilson_interval(49, 400) or (0.0, 0.0)
    assert (row.transfer_ci_low, row.transfer_ci_high) == (9.4, 15.8)
    assert 9.35 <= 100 * low < 9.45 and 15.75 <= 100 * high < 15.85


def test_zero_denominator_leaves_rate_and_interval_empty_and_unflagged() -> None:
    (row,) = rows(totals("A", handled=3, resolved=2))
    assert (row.fcr_pct, row.fcr_ci_low, row.fcr_ci_high) == (None, None, None)
    assert (row.csat_pct, row.csat_ci_low, row.csat_ci_high, row.csat_mean_pct) == (None,) * 4
    assert row.low_sample == "transfer"


def test_low_sample_names_flagged_metrics_in_order() -> None:
    (row,) = rows(totals("A", handled=30, fcr_eligible=29, fcr=10, csat_responses=1))
    assert row.low_sample == "fcr csat"


def test_low_sample_is_empty_at_min_sample() -> None:
    (row,) = rows(totals("A", handled=30, fcr_eligible=30, csat_responses=30))
    assert row.low_sample == ""
    (small,) = rows(totals("A", handled=3), settings=ScoringSettings(min_sample=3))
    assert small.low_sample == ""


def test_csat_percent_and_mean_come_from_the_sums() -> None:
    (row,) = rows(totals("A", csat_responses=3, csat_satisfied=2, csat_score_sum=175.0))
    assert (row.csat_pct, row.csat_mean_pct) == (66.7, 58.3)


def test_report_columns_are_the_row_fields_in_order() -> None:
    assert tuple(f.name for f in dataclasses.fields(ReportRow)) == REPORT_COLUMNS
    assert REPORT_COLUMNS[:6] == (
        "source",
        "agent_id",
        "agent_name",
        "agent_email",
        "handled",
        "transferred_out",
    )
    assert REPORT_COLUMNS[-2:] == ("csat_mean_pct", "low_sample")


# docs/metrics.md "Rows of a report"


def test_rows_ordered_by_source_then_name_with_unassigned_last() -> None:
    agents = dict(
        [
            agent("1", "bob"),
            agent("2", "Alice"),
            agent("3", None),
            agent("4", "alice"),
            agent("9", "Zed", source="salesforce"),
        ]
    )
    result = rows(
        totals(None, handled=0, resolved=1),
        totals("3", handled=1),
        totals("5", handled=1),
        totals("1", handled=1),
        totals("4", handled=1),
        totals("2", handled=1),
        totals(None, source="salesforce", csat_responses=1),
        totals("9", source="salesforce", handled=1),
        agents=agents,
    )
    assert [(r.source, r.agent_id) for r in result] == [
        ("salesforce", "9"),
        ("salesforce", None),
        ("zendesk", "2"),
        ("zendesk", "4"),
        ("zendesk", "1"),
        ("zendesk", "3"),
        ("zendesk", "5"),
        ("zendesk", None),
    ]


def test_rows_without_counts_are_left_out() -> None:
    result = rows(totals("A"), totals(None), totals("B", csat_score_sum=0.0, csat_responses=1))
    assert [r.agent_id for r in result] == ["B"]


def test_agent_without_record_has_empty_name_and_email() -> None:
    (row,) = rows(totals("77", handled=1))
    assert (row.agent_name, row.agent_email) == (None, None)


def test_totals_of_the_same_agent_are_added() -> None:
    (row,) = rows(totals("A", handled=2, transferred_out=1), totals("A", handled=2))
    assert (row.handled, row.transferred_out, row.transfer_pct) == (4, 1, 25.0)


def test_unknown_report_grouping_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"'team'.*agent, person"):
        rows(totals("A", handled=1), by="team")


# docs/metrics.md "People across sources"


def test_same_email_across_sources_is_one_person_with_rates_from_sums() -> None:
    agents = dict(
        [
            agent("005X", "Ann Lee", "Ann@Example.com", source="salesforce"),
            agent("12", "Ann L.", "ann@example.COM", source="zendesk"),
        ]
    )
    (person,) = rows(
        totals("12", handled=10, transferred_out=1, fcr_eligible=4, fcr=4),
        totals("005X", source="salesforce", handled=30, transferred_out=19, fcr_eligible=6),
        agents=agents,
        by="person",
    )
    assert person.source == "salesforce+zendesk"
    assert person.agent_id == "salesforce:005X+zendesk:12"
    assert (person.agent_name, person.agent_email) == ("Ann Lee", "ann@example.com")
    assert (person.handled, person.transferred_out, person.transfer_pct) == (40, 20, 50.0)
    assert (person.fcr_eligible, person.fcr, person.fcr_pct) == (10, 4, 40.0)
    assert person.low_sample == "fcr"


def test_agent_without_email_is_a_person_alone() -> None:
    agents = dict([agent("1", "Ann", None), agent("2", "Ann", None, source="salesforce")])
    result = rows(
        totals("1", handled=1),
        totals("2", source="salesforce", handled=1),
        agents=agents,
        by="person",
    )
    assert [(r.source, r.agent_id) for r in result] == [
        ("salesforce", "salesforce:2"),
        ("zendesk", "zendesk:1"),
    ]


def test_unassigned_rows_stay_per_source_by_person() -> None:
    result = rows(
        totals(None, resolved=1),
        totals(None, source="salesforce", resolved=2),
        by="person",
    )
    assert [(r.source, r.agent_id, r.resolved) for r in result] == [
        ("salesforce", None, 2),
        ("zendesk", None, 1),
    ]
