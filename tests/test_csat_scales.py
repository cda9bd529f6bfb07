"""docs/metrics.md "CSAT" for Zendesk survey responses (new CSAT), one rule a test: the rating on
the survey's own scale 1..N, satisfied by Zendesk's category, the latest answer dated by the
first, and the owner at the moment of the latest answer (scoring/csat.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from interactions import History, Interaction, OwnershipChange, Rating, StatusChange
from scoring import ScoringSettings, score_days
from scoring.csat import responses, scores_off_scale

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
SETTINGS = ScoringSettings()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def answer(
    score: str,
    *,
    scale: float | None = 5.0,
    category: str | None = None,
    first: float = 30,
    latest: float | None = None,
    rid: str = "01M4FMZGKXZY6T2TJTER5PJWV7",
    survey: str = "01M4FMXHBW5WHJ6D7BEMA0RZC5",
    agent: str | None = None,
) -> Rating:
    return Rating(
        source="zendesk",
        rating_id=rid,
        interaction_id="1",
        agent_id=agent,
        score=score,
        comment=None,
        created_at=at(first),
        updated_at=at(latest if latest is not None else first),
        survey_id=survey if scale is not None else "",
        scale_max=scale,
        category=category,
    )


def test_a_survey_rating_is_scored_on_its_own_scale() -> None:
    [on_five] = responses([answer("4", scale=5, category="good")], SETTINGS)
    [on_three] = responses([answer("2", scale=3, category="bad")], SETTINGS)
    assert (on_five.satisfied, on_five.score_pct) == (True, 75.0)
    assert (on_three.satisfied, on_three.score_pct) == (False, 50.0)


def test_zendesks_category_decides_satisfied_and_neutral_is_not() -> None:
    [neutral] = responses([answer("3", scale=5, category="neutral")], SETTINGS)
    [good] = responses([answer("3", scale=5, category="good")], SETTINGS)
    assert not neutral.satisfied and good.satisfied
    assert neutral.score_pct == good.score_pct == 50.0


def test_without_a_category_the_csat_threshold_is_carried_onto_the_scale() -> None:
    # Default threshold 4 of 1..5 is Zendesk's own mapping: 2 of 1..2, 3 of 1..3, 4 of 1..5.
    satisfied = {
        (scale, rating): responses([answer(str(rating), scale=scale)], SETTINGS)[0].satisfied
        for scale in (2, 3, 5)
        for rating in range(1, scale + 1)
    }
    assert {key for key, yes in satisfied.items() if yes} == {(2, 2), (3, 3), (5, 4), (5, 5)}


def test_a_rating_off_its_own_scale_is_no_response() -> None:
    assert responses([answer("4", scale=3, category="good")], SETTINGS) == []


def test_the_latest_answer_counts_on_the_day_of_the_first() -> None:
    # The same survey written again as a new record (a source may do either).
    first = answer("1", scale=3, category="bad", first=30, latest=30)
    again = "01M4FMZGKXZY6T2TJTER5PJWV8"
    changed = answer("3", scale=3, category="good", first=40, latest=60, rid=again)
    [response] = responses([changed, first], SETTINGS)
    assert response.satisfied and response.score_pct == 100.0
    assert response.first_answered_at == at(30)


def test_a_survey_response_belongs_to_the_owner_at_its_latest_answer() -> None:
    owners = {at(0): "ann", at(45): "bob"}

    def owner_at(moment: datetime) -> str | None:
        return owners[max(t for t in owners if t <= moment)]

    [early] = responses([answer("5", category="good", latest=40)], SETTINGS, owner_at)
    [late] = responses([answer("5", category="good", latest=50)], SETTINGS, owner_at)
    assert (early.agent_id, late.agent_id) == ("ann", "bob")


def test_an_agent_recorded_on_a_legacy_rating_is_kept() -> None:
    legacy = answer("good", scale=None, agent="carl")
    [response] = responses([legacy], SETTINGS, lambda _moment: "ann")
    assert response.agent_id == "carl"


def test_the_tickets_view_of_a_survey_response_is_not_a_second_response() -> None:
    # Under new CSAT the ticket shows the survey's good/bad as a legacy satisfaction rating.
    mirror = answer("bad", scale=None, first=31, rid="39777235593245")
    survey = answer("1", scale=5, category="bad", first=30)
    assert len(responses([mirror, survey], SETTINGS)) == 1
    assert len(responses([mirror], SETTINGS)) == 1  # history before a switch still counts


@given(
    scale=st.sampled_from([2.0, 3.0, 5.0]),
    rating=st.integers(min_value=1, max_value=5),
    category=st.sampled_from(["good", "bad", "neutral", None]),
)
def test_a_survey_score_is_on_0_to_100_and_only_good_is_satisfied(
    scale: float, rating: int, category: str | None
) -> None:
    found = responses([answer(str(rating), scale=scale, category=category)], SETTINGS)
    if rating > scale:
        assert found == []
        return
    [response] = found
    assert 0.0 <= response.score_pct <= 100.0
    assert response.score_pct == 100.0 * (rating - 1) / (scale - 1)
    if category is not None:
        assert response.satisfied == (category == "good")


def _solved_and_reassigned() -> History:
    """Ann solves the ticket, then Bob takes it over while it is solved; the customer
    answers the survey after that."""
    ticket = Interaction("zendesk", "1", at(0), at(20), "solved", True, False, "c", "bob", None)
    return History(
        ticket,
        ownership=(
            OwnershipChange("zendesk", "o1", "1", "u1", at(0), None, "ann"),
            OwnershipChange("zendesk", "o2", "1", "u3", at(20), "ann", "bob"),
        ),
        statuses=(
            StatusChange("zendesk", "s1", "1", "u1", at(0), None, "open", None, False),
            StatusChange("zendesk", "s2", "1", "u2", at(10), "open", "solved", False, True),
        ),
        ratings=(answer("5", category="good", first=30),),
    )


def test_score_days_credits_a_survey_response_to_the_owner_at_its_latest_answer() -> None:
    # Needs scoring/facts.py to pass `timeline.owner_at` to `responses`.
    facts = score_days([_solved_and_reassigned()], {}, {"zendesk": FAR}, SETTINGS)
    answered = {f.agent_id: f.csat_responses for f in facts if f.csat_responses}
    assert answered == {"bob": 1}


def test_the_scores_off_the_scale_are_the_numbers_outside_it() -> None:
    counts = {"1": 3, "5": 2, "0": 4, "10": 1, "offered": 7, "4.5": 1}
    assert scores_off_scale(counts, ScoringSettings()) == {"0": 4, "10": 1}
