"""Salesforce value formats shared by the face modules (face.py, feedback.py).

Owns `Record`, `sf_datetime` (JSON datetimes), `stamps` (the audit fields) and `survey_score`
(a desk rating on Salesforce's 1..5 scale).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.desk.model import Rating

Record = dict[str, Any]


def sf_datetime(moment: datetime) -> str:
    """Salesforce's JSON datetime: UTC, milliseconds, +0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def stamps(created: datetime, modified: datetime) -> Record:
    return {
        "CreatedDate": sf_datetime(created),
        "LastModifiedDate": sf_datetime(modified),
        "SystemModstamp": sf_datetime(modified),
    }


def survey_score(rating: Rating) -> int:
    """A 1..5 score for a desk rating: good is 4 or 5, bad 1 or 2 (by rating id, stable)."""
    return score_of(rating.id, rating.score)


def score_of(rating_id: int, score: str) -> int:
    """The 1..5 score rating `rating_id` shows for a desk answer `score` (good or bad)."""
    return 4 + rating_id % 2 if score == "good" else 1 + rating_id % 2
