"""What customers said with a low score (docs/metrics.md "CSAT"): the comment of each
response that is not satisfied, with the agent the response belongs to.

Owns `LowScore` and `low_scores`; the response, its agent and its day are scoring's own
(`owned_responses`), so a comment is shown beside the agent whose CSAT it counts in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from interactions import History
from scoring.ledger import owned_responses
from scoring.ordering import id_key
from scoring.settings import ScoringSettings
from scoring.timeline import replay


@dataclass(frozen=True)
class LowScore:
    """One response that is not satisfied, with the comment of its latest answer."""

    source: str
    interaction_id: str
    agent_id: str | None  # None: the unassigned row
    first_answered_at: datetime  # the moment its response counts on
    score: str  # as the source wrote it
    comment: str


def low_scores(history: History, settings: ScoringSettings) -> list[LowScore]:
    """The not-satisfied responses of one interaction whose latest answer has a comment."""
    found = []
    for response, agent, _why in owned_responses(history, replay(history), settings):
        if response.satisfied:
            continue
        answers = [r for r in history.ratings if r.survey_id == response.survey_id and r.is_answer]
        if not answers:
            continue
        latest = max(answers, key=lambda r: (r.updated_at or r.created_at, id_key(r.rating_id)))
        comment = (latest.comment or "").strip()
        if comment:
            found.append(
                LowScore(
                    history.interaction.source,
                    history.interaction.interaction_id,
                    agent,
                    response.first_answered_at,
                    latest.score,
                    comment,
                )
            )
    return found
