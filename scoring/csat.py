"""Satisfaction responses of one interaction (docs/metrics.md "CSAT").

Owns which rating records are responses, how a score becomes satisfied and a 0..100
score (Zendesk legacy good/bad, a Zendesk survey response on its own scale 1..N, a number
on the [csat] scale), which record of a survey is the answer that counts, the moment of its
first answer, and whom a survey response that names no agent belongs to.

Where the interaction's history shows its satisfaction score (`SatisfactionChange`: Zendesk
ticket events), each offer of a survey starts a *round*: the records answered in one round
are one survey's answers, the first answer shown in the round dates a record that has no
answer time of its own (a legacy rating, which Zendesk re-dates when it is changed), and a
good/bad record in the round of a survey response is that response seen through the ticket.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from interactions import Rating, SatisfactionChange, is_answer_score
from scoring.ordering import id_key
from scoring.settings import ScoringSettings

OwnerAt = Callable[[datetime], str | None]


@dataclass(frozen=True)
class Response:
    """The one counted answer to one survey about one interaction."""

    survey_id: str
    # The earliest created_at among the survey's answers, or for a record without an answer
    # time of its own the first answer its round shows, if earlier.
    first_answered_at: datetime
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
    # The offer that opened this survey's round, when one survey id was answered in several
    # rounds of the interaction (offered again after an answer): each is a response.
    round_offered_at: datetime | None = None

    @property
    def key(self) -> str:
        """What tells this response from the interaction's others: its survey, and the
        round's offer when the history shows rounds."""
        if self.round_offered_at is None:
            return self.survey_id
        return f"{self.survey_id}@{self.round_offered_at.isoformat()}"


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
    """docs/metrics.md "CSAT", Zendesk survey responses: the rating on the survey's scale 1..N;
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


class _Rounds:
    """The offers and answers an interaction's history shows, by time."""

    def __init__(self, shown: Iterable[SatisfactionChange]) -> None:
        ordered = sorted(shown, key=lambda c: (c.at, id_key(c.change_id)))
        self.offers = [c.at for c in ordered if not is_answer_score(c.score)]
        self.answers = [c.at for c in ordered if is_answer_score(c.score)]

    def round_of(self, moment: datetime) -> datetime | None:
        """The offer that began the round `moment` falls in (None: before any shown)."""
        index = bisect_right(self.offers, moment)
        return self.offers[index - 1] if index else None

    def first_answer(self, start: datetime | None) -> datetime | None:
        """The first answer shown in the round begun by the offer at `start`."""
        first = bisect_left(self.answers, start) if start is not None else 0
        following = bisect_right(self.offers, start) if start is not None else 0
        end = self.offers[following] if following < len(self.offers) else None
        if first < len(self.answers) and (end is None or self.answers[first] < end):
            return self.answers[first]
        return None


def responses(
    ratings: Iterable[Rating],
    settings: ScoringSettings,
    owner_at: OwnerAt | None = None,
    shown: Iterable[SatisfactionChange] = (),
) -> list[Response]:
    """One response per survey: its latest answer, dated by its first (docs/metrics.md "CSAT").

    `owner_at` gives the interaction's owner at a moment (`Timeline.owner_at`): a survey
    response, which names no agent, belongs to the owner at the moment of its latest answer.
    `shown` is the interaction's satisfaction-score history, where there is one: a record
    without an answer time of its own counts from the first answer its round shows.
    """
    rounds = _Rounds(shown)
    by_survey: dict[tuple[str, datetime | None], list[tuple[Rating, _Score]]] = {}
    for rating in ratings:
        score = _score(rating, settings)
        if score is not None:  # records that are no response are not answers at all
            key = (rating.survey_id, rounds.round_of(rating.created_at))
            by_survey.setdefault(key, []).append((rating, score))
    # Under new CSAT a ticket shows its survey response's good/bad as the legacy
    # `satisfaction_rating` (research/zendesk-new-csat.md "4"): the same survey seen
    # through the ticket, not a second one (docs/metrics.md "CSAT": one response per survey).
    # A legacy rating of an earlier round (before a switch to new CSAT) is a survey of its
    # own and keeps counting.
    surveyed = {round_ for (_, round_), answers in by_survey.items() if _is_survey(answers)}
    rounds_of = Counter(survey_id for survey_id, _ in by_survey)
    result = []
    for survey_id, round_ in sorted(by_survey, key=lambda k: (k[0], k[1] is not None, k[1])):
        answers = by_survey[(survey_id, round_)]
        if round_ in surveyed:
            answers = [(r, s) for r, s in answers if r.scale_max is not None]
            if not answers:
                continue
        latest, score = max(answers, key=lambda a: (_answered_at(a[0]), id_key(a[0].rating_id)))
        agent = latest.agent_id
        owner_at_answer = agent is None and latest.scale_max is not None and owner_at is not None
        if owner_at_answer and owner_at is not None:
            agent = owner_at(_answered_at(latest))
        first = min(r.created_at for r, _ in answers)
        shown_first = rounds.first_answer(round_)
        if latest.scale_max is None and shown_first is not None:
            # docs/metrics.md "CSAT": the first change of the score to an answer in the
            # interaction's history, which a re-dated record no longer shows.
            first = min(first, shown_first)
        result.append(
            Response(
                survey_id=survey_id,
                first_answered_at=first,
                agent_id=agent,
                satisfied=score.satisfied,
                score_pct=score.score_pct,
                score=latest.score,
                latest_answered_at=_answered_at(latest),
                agent_is_owner_at_answer=owner_at_answer,
                round_offered_at=round_ if rounds_of[survey_id] > 1 else None,
            )
        )
    return result


def _is_survey(answers: list[tuple[Rating, _Score]]) -> bool:
    """Whether a survey's answers include a survey response on its own scale."""
    return any(r.scale_max is not None for r, _ in answers)


def scores_off_scale(counts: Mapping[str, int], settings: ScoringSettings) -> dict[str, int]:
    """Of the numeric scores of a source whose answers carry no scale of their own
    (Salesforce) and how often each was stored, those off [csat.scale_min,
    csat.scale_max]: each of them counts nowhere (docs/metrics.md "CSAT"), so a survey on
    another scale (a 0-10 question) must be said, not dropped in silence."""
    low, high = settings.csat_scale_min, settings.csat_scale_max
    off = {}
    for score, count in counts.items():
        value = _number(score)
        if value is not None and not low <= value <= high:
            off[score] = count
    return off
