"""docs/metrics.md "CSAT" where the interaction's history shows its satisfaction score (Zendesk
ticket events), one rule a test: a re-dated legacy rating counts from the first answer its
round shows, a legacy rating of an earlier round keeps counting beside a survey response,
and the good/bad a ticket shows for a survey response is no second response
(scoring/csat.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from interactions import Rating, SatisfactionChange
from scoring import ScoringSettings
from scoring.csat import responses

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SETTINGS = ScoringSettings()
SURVEY = "01M4FMXHBW5WHJ6D7BEMA0RZC5"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def shown(hours: float, previous: str | None, score: str) -> SatisfactionChange:
    return SatisfactionChange(
        source="zendesk",
        change_id=f"{int(hours * 100)}:satisfaction",
        interaction_id="1",
        update_id=str(int(hours * 100)),
        at=at(hours),
        previous_score=previous,
        score=score,
    )


def legacy(score: str, created: float, rid: str = "7235633102607") -> Rating:
    return Rating("zendesk", rid, "1", "ann", score, None, at(created), at(created))


def survey_response(score: str, first: float, category: str) -> Rating:
    return Rating(
        "zendesk", "01M4FN6P3TCFJAF93WYDFZ4KKX", "1", None, score, None, at(first),
        at(first), survey_id=SURVEY, scale_max=5.0, category=category,
    )  # fmt: skip


def test_a_re_dated_legacy_rating_counts_from_the_first_answer_its_ticket_shows() -> None:
    # Answered good on day 1, changed to bad on day 2: Zendesk re-dates the record.
    history = [
        shown(0, "unoffered", "offered"),
        shown(2, "offered", "good"),
        shown(26, "good", "bad"),
    ]
    [response] = responses([legacy("bad", created=26)], SETTINGS, shown=history)
    assert response.first_answered_at == at(2)
    assert not response.satisfied


def test_a_legacy_rating_before_a_survey_response_counts_beside_it() -> None:
    # Rated good under legacy CSAT, reopened after the switch, surveyed and answered 1 of 5.
    history = [
        shown(0, "unoffered", "offered"),
        shown(2, "offered", "good"),
        shown(700, "good", "offered"),
        shown(720, "offered", "bad"),
    ]
    mirror = legacy("bad", created=720, rid="39777235593245")
    both = responses(
        [legacy("good", created=2), mirror, survey_response("1", 720.01, "bad")],
        SETTINGS,
        shown=history,
    )
    assert sorted((r.first_answered_at, r.satisfied) for r in both) == [
        (at(2), True),
        (at(720.01), False),
    ]


def test_the_tickets_view_of_a_survey_response_in_its_round_is_not_a_second_one() -> None:
    history = [shown(700, "unoffered", "offered"), shown(720, "offered", "bad")]
    mirror = legacy("bad", created=720, rid="39777235593245")
    answers = [mirror, survey_response("1", 720.01, "bad")]
    [response] = responses(answers, SETTINGS, shown=history)
    assert response.survey_id == SURVEY


def test_a_survey_offered_again_after_an_answer_is_a_survey_of_its_own() -> None:
    # The same survey answered twice on one ticket, a new offer between: two responses.
    history = [
        shown(0, "unoffered", "offered"),
        shown(2, "offered", "good"),
        shown(30, "good", "offered"),
        shown(40, "offered", "bad"),
    ]
    first = survey_response("5", 2.01, "good")
    second = Rating(
        "zendesk", "01M4FN6P3TCFJAF93WYDFZ4KKY", "1", None, "1", None, at(40.01),
        at(40.01), survey_id=SURVEY, scale_max=5.0, category="bad",
    )  # fmt: skip
    both = responses([first, second], SETTINGS, shown=history)
    assert [r.first_answered_at for r in both] == [at(2.01), at(40.01)]
