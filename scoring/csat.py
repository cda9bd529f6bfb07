"""Satisfaction responses of one interaction (METRICS.md "CSAT").

Owns which rating records are responses, how a score becomes satisfied and a 0..100
score, and which record of a survey is the answer that counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from interactions import Rating
from scoring.ordering import id_key
from scoring.settings import ScoringSettings


@dataclass(frozen=True)
class Response:
    """The one counted answer to one survey about one interaction."""

    first_answered_at: datetime  # earliest created_at among the survey's answers
    agent_id: str | None  # as recorded on the latest answer
    satisfied: bool
    score_pct: float  # 100 * (score - min) / (max - min); good = 100, bad = 0


@dataclass(frozen=True)
class _Score:
    satisfied: bool
    score_pct: float


def _score(raw: str, settings: ScoringSettings) -> _Score | None:
    """The meaning of a rating's score, or None when it is no response."""
    word = raw.strip().lower()
    # Zendesk: good / bad; `offered`, `unoffered` and anything else non-numeric are none.
    if word == "good":
        return _Score(satisfied=True, score_pct=100.0)
    if word == "bad":
        return _Score(satisfied=False, score_pct=0.0)
    try:
        value = float(word)
    except ValueError:
        return None
    low, high = settings.csat_scale_min, settings.csat_scale_max
    # Salesforce: a number on the scale; anything off it (or nan) was never an answer.
    if not math.isfinite(value) or not low <= value <= high:
        return None
    return _Score(
        satisfied=value >= settings.csat_satisfied_threshold,
        score_pct=100.0 * (value - low) / (high - low),
    )


def _answered_at(rating: Rating) -> datetime:
    return rating.updated_at or rating.created_at


def responses(ratings: Iterable[Rating], settings: ScoringSettings) -> list[Response]:
    """One response per survey: its latest answer, dated by its first (METRICS.md "CSAT")."""
    by_survey: dict[str, list[tuple[Rating, _Score]]] = {}
    for rating in ratings:
        score = _score(rating.score, settings)
        if score is not None:  # records that are no response are not answers at all
            by_survey.setdefault(rating.survey_id, []).append((rating, score))
    result = []
    for survey_id in sorted(by_survey):
        answers = by_survey[survey_id]
        latest, score = max(answers, key=lambda a: (_answered_at(a[0]), id_key(a[0].rating_id)))
        result.append(
            Response(
                first_answered_at=min(r.created_at for r, _ in answers),
                agent_id=latest.agent_id,
                satisfied=score.satisfied,
                score_pct=score.score_pct,
            )
        )
    return result
