"""The statistics of docs/metrics.md "Comparing agents and periods": funnel limits that
narrow as the sample grows, a change test that never calls equal rates a change, and a
textbook example's known p-value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.comparison import (
    Z_95,
    Z_998,
    change_sentence,
    change_test,
    funnel_limits,
    outside_funnel,
    p_text,
)

rates = st.floats(min_value=0.0, max_value=1.0)
sizes = st.integers(min_value=1, max_value=100_000)


@given(rates, sizes, st.integers(min_value=1, max_value=100_000))
def test_funnel_limits_narrow_as_the_sample_grows(team: float, n: int, more: int) -> None:
    small, large = funnel_limits(team, n, Z_95), funnel_limits(team, n + more, Z_95)
    assert small is not None and large is not None
    assert small[0] <= large[0] <= team <= large[1] <= small[1]


@given(rates, sizes)
def test_the_998_funnel_holds_the_95_funnel(team: float, n: int) -> None:
    inner, outer = funnel_limits(team, n, Z_95), funnel_limits(team, n, Z_998)
    assert inner is not None and outer is not None
    assert outer[0] <= inner[0] and inner[1] <= outer[1]


def test_funnel_limits_are_the_normal_limits_around_the_team_rate() -> None:
    # 70 % of 40: 0.7 ± 1.96 · √(0.7 · 0.3 / 40) = 0.7 ± 0.142
    low, high = funnel_limits(0.7, 40, Z_95) or (0.0, 0.0)
    assert round(low, 3) == 0.558 and round(high, 3) == 0.842


def test_a_rate_of_no_trials_has_no_funnel_limits() -> None:
    assert funnel_limits(0.5, 0, Z_95) is None


def test_an_agent_far_from_the_mean_on_a_small_sample_is_inside_the_funnel() -> None:
    assert not outside_funnel(2, 5, 0.7, Z_95)  # 40 % of 5 against 70 %


def test_an_agent_as_far_from_the_mean_on_a_large_sample_is_outside_it() -> None:
    assert outside_funnel(200, 500, 0.7, Z_998)  # 40 % of 500 against 70 %


@given(st.integers(min_value=0, max_value=50), sizes, st.integers(min_value=1, max_value=50))
def test_equal_rates_are_never_a_significant_change(x: int, n: int, factor: int) -> None:
    x = min(x, n)
    change = change_test(x, n, x * factor, n * factor)
    assert change is not None
    assert change.p_value == 1.0 and not change.beyond_chance


def test_the_textbook_example_gives_its_known_p_value() -> None:
    # Usable Stats' worked example: 118 of 3,303 against 80 of 3,303, z = 2.742, two-sided
    # p = 0.00611 (normal table).
    change = change_test(80, 3303, 118, 3303)
    assert change is not None
    assert round(change.z, 3) == 2.742
    assert round(change.p_value, 5) == 0.00611


def test_a_change_against_an_empty_period_is_no_test() -> None:
    assert change_test(0, 0, 5, 10) is None


def test_the_sentence_of_a_change_beyond_chance() -> None:
    change = change_test(118, 3303, 80, 3303)
    assert (
        change_sentence("FCR", change) == "FCR down 1.2 points, unlikely to be chance, p = 0.0061"
    )


def test_the_sentence_of_a_change_within_chance() -> None:
    change = change_test(7, 10, 6, 10)
    assert change_sentence("CSAT", change) == "CSAT down 10 points, within chance, p = 0.64"


@pytest.mark.parametrize(("p", "shown"), [(0.0004, "p < 0.001"), (0.0123, "p = 0.012")])
def test_p_values_are_shown_to_two_figures(p: float, shown: str) -> None:
    assert p_text(p) == shown


def test_a_p_value_just_below_the_line_is_not_shown_on_it() -> None:
    assert p_text(0.0496) == "p < 0.05"
    assert p_text(0.0504) == "p = 0.05"


@given(st.floats(min_value=0.0, max_value=1.0))
def test_a_p_values_words_never_contradict_the_verdict(p: float) -> None:
    shown = p_text(p)
    if p < 0.05:  # beyond chance
        assert shown.startswith("p < ") or float(shown.removeprefix("p = ")) < 0.05
    else:
        assert shown.startswith("p = ") and float(shown.removeprefix("p = ")) >= 0.05
