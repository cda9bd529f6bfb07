"""Satisfaction responses of one interaction (METRICS.md "CSAT").

Owns which rating records are responses, how a score becomes satisfied and a 0..100
score (Zendesk legacy good/bad, a Zendesk survey response on its own scale 1..N, a number
on the [csat] scale), which record of a survey is the answer that counts, and whom a
survey response that names no agent belongs to.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from interactions import Rating
from scoring.ordering import id_key
from scoring.settings import ScoringSettings

OwnerAt = Callable[[datetime], str | None]


@dataclass(frozen=True)
class Response:
    """The one counted answer to one survey about one interaction."""

    survey_id: str
    first_answered_at: datetime  # earliest created_at among the survey's answers
    # As recorded on the latest answer; for a survey response, which records no agent, the
    # interaction's owner at the moment of the latest answer (when `responses` is told it).
    agent_id: str | None
    satisfied: bool
    score_pct: float  # 100 * (score - min) / (max - min); good = 100, bad = 0
    # What the credit ledger shows of it (scoring/ledger.py): the latest answer, as recorded
    # and when, and whether `agent_id` is the owner at that moment rather than recorded.
    score: str = ""
    latest_answered_at: datetime | None = None
    agent_is_owner_at_answer: bool = False


@dataclass(frozen=True)
class _Score:
    satisfied: bool
    score_pct: float


def _score(rating: Rating, settings: ScoringSettings) -> _Score | None:
    """The meaning of a rating's score, or None when it is no response."""
    if rating.scale_max is not None:
        return _survey_score(rating, settings)
    word = rating.score.strip().lower()
    # Zendesk: good / bad; `offered`, `unoffered` and anything else non-numeric are none.
    if word == "good":
        return _Score(satisfied=True, score_pct=100.0)
    if word == "bad":
        return _Score(satisfied=False, score_pct=0.0)
    value = _number(word)
    low, high = settings.csat_scale_min, settings.csat_scale_max
    # Salesforce: a number on the scale; anything off it (or nan) was never an answer.
    if value is None or not low <= value <= high:
        return None
    return _Score(
        satisfied=value >= settings.csat_satisfied_threshold,
        score_pct=100.0 * (value - low) / (high - low),
    )


def _survey_score(rating: Rating, settings: ScoringSettings) -> _Score | None:
    """METRICS.md "CSAT", Zendesk survey responses: the rating on the survey's scale 1..N;
    satisfied when Zendesk's `rating_category` is `good` (`neutral` is not); the mean on
    1..N. A record without a rating (score "") is an offer, not a response."""
    value, high = _number(rating.score), rating.scale_max
    if value is None or high is None or not math.isfinite(high) or high <= 1:
        return None
    if not 1 <= value <= high:
        return None
    if rating.category is not None:
        satisfied = rating.category.strip().lower() == "good"
    else:
        # No category sent: the [csat] threshold, carried onto this survey's scale (with the
        # defaults, 4 of 1..5, it is Zendesk's own mapping: 2 of 1..2, 3 of 1..3, 4 of 1..5).
        low, top = settings.csat_scale_min, settings.csat_scale_max
        share = (settings.csat_satisfied_threshold - low) / (top - low)
        satisfied = value >= 1 + share * (high - 1)
    return _Score(satisfied=satisfied, score_pct=100.0 * (value - 1) / (high - 1))


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _answered_at(rating: Rating) -> datetime:
    return rating.updated_at or rating.created_at


def responses(
    ratings: Iterable[Rating], settings: ScoringSettings, owner_at: OwnerAt | None = None
) -> list[Response]:
    """One response per survey: its latest answer, dated by its first (METRICS.md "CSAT").

    `owner_at` gives the interaction's owner at a moment (`Timeline.owner_at`): a survey
    response, which names no agent, belongs to the owner at the moment of its latest answer.
    """
    by_survey: dict[str, list[tuple[Rating, _Score]]] = {}
    for rating in ratings:
        score = _score(rating, settings)
        if score is not None:  # records that are no response are not answers at all
            by_survey.setdefault(rating.survey_id, []).append((rating, score))
    if any(r.scale_max is not None for answers in by_survey.values() for r, _ in answers):
        # Under new CSAT a ticket shows its survey response's good/bad as the legacy
        # `satisfaction_rating` (research/zendesk-new-csat.md "4"): the same survey seen
        # through the ticket, not a second one (METRICS.md "CSAT": one response per survey).
        by_survey = {
            survey: kept
            for survey, answers in by_survey.items()
            if (kept := [(r, s) for r, s in answers if r.scale_max is not None])
        }
    result = []
    for survey_id in sorted(by_survey):
        answers = by_survey[survey_id]
        latest, score = max(answers, key=lambda a: (_answered_at(a[0]), id_key(a[0].rating_id)))
        agent = latest.agent_id
        owner_at_answer = agent is None and latest.scale_max is not None and owner_at is not None
        if owner_at_answer and owner_at is not None:
            agent = owner_at(_answered_at(latest))
        result.append(
            Response(
                survey_id=survey_id,
                first_answered_at=min(r.created_at for r, _ in answers),
                agent_id=agent,
                satisfied=score.satisfied,
                score_pct=score.score_pct,
                score=latest.score,
                latest_answered_at=_answered_at(latest),
                agent_is_owner_at_answer=owner_at_answer,
            )
        )
    return result
