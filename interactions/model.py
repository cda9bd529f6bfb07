"""Records of the interaction model (docs/metrics.md "Words"), the same for every source.

Keys are source-qualified: `source` is the name of the source *instance* from settings
(`zendesk`, `zendesk_emea`, …) and every id is the source's own id as text. Every
timestamp is timezone-aware UTC. Records are frozen: code that needs a changed record
builds a new one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from interactions.errors import PAGE_NOT_STORED


@dataclass(frozen=True)
class Agent:
    """A person who can own interactions (Zendesk agent/admin, Salesforce `005…` user).

    `active` is false once the source reports the person suspended, deleted or downgraded;
    they keep counting for what they handled, under the name and e-mail last known.
    """

    source: str
    agent_id: str
    name: str | None
    email: str | None
    role: str | None
    active: bool
    updated_at: datetime | None


@dataclass(frozen=True)
class Interaction:
    """One ticket or case, as it stands now.

    `status` is the source's own word; `resolved` says whether it counts as resolved
    (Zendesk solved/closed, Salesforce IsClosed). `owner_id` is the current owning agent,
    `group_id` the current group or queue. `solved_at`, `reopens` and
    `assignee_stations` are the source's own aggregates, kept only as a cross-check.
    """

    source: str
    interaction_id: str
    created_at: datetime
    updated_at: datetime
    status: str
    resolved: bool
    deleted: bool
    customer_id: str | None
    owner_id: str | None
    group_id: str | None
    solved_at: datetime | None = None
    reopens: int | None = None
    assignee_stations: int | None = None


@dataclass(frozen=True)
class Removed:
    """An interaction the source says was deleted, known by its id alone: Salesforce's Get
    Deleted lists a case purged from the Recycle Bin, which queryAll no longer returns. A
    stored interaction of that id is stored as deleted from `removed_at` on (docs/metrics.md
    "Left out"); one never stored is nothing to remove."""

    source: str
    interaction_id: str
    removed_at: datetime


@dataclass(frozen=True)
class OwnershipChange:
    """The owning agent of an interaction changed (`None` means no agent: a group or queue).

    `update_id` groups changes recorded together (one Zendesk ticket event, Salesforce
    history rows with one CreatedDate); `change_id` is unique within the source.
    """

    source: str
    change_id: str
    interaction_id: str
    update_id: str
    at: datetime
    previous_owner: str | None
    new_owner: str | None


@dataclass(frozen=True)
class StatusChange:
    """The status of an interaction changed; `previous_status` is `None` at creation."""

    source: str
    change_id: str
    interaction_id: str
    update_id: str
    at: datetime
    previous_status: str | None
    new_status: str
    previous_resolved: bool | None
    resolved: bool


@dataclass(frozen=True)
class SatisfactionChange:
    """The satisfaction score an interaction shows changed (Zendesk ticket events'
    `satisfaction_score`: a survey offered, answered, changed, offered again). `score` is
    the source's own word (`offered`, `good`, …); `previous_score` is `None` when none was
    shown. The interaction's history of these is where the first answer of a rating whose
    record the source re-dates is kept (docs/metrics.md "CSAT").
    """

    source: str
    change_id: str
    interaction_id: str
    update_id: str
    at: datetime
    previous_score: str | None
    score: str


@dataclass(frozen=True)
class Rating:
    """One satisfaction-survey record about an interaction, as the source keeps it.

    `score` is the source's own value as text: Zendesk `good`, `bad`, `offered`,
    `unoffered`; Salesforce a number such as `4`. Whether it is a response, and whether it
    is satisfied, is scoring's call (docs/metrics.md "CSAT"). `survey_id` tells surveys of the
    same interaction apart ("" where a source has one survey per interaction).
    """

    source: str
    rating_id: str
    interaction_id: str
    agent_id: str | None
    score: str
    comment: str | None
    created_at: datetime
    updated_at: datetime | None
    survey_id: str = ""
    # A survey response's own scale 1..scale_max and Zendesk's `rating_category`; None for
    # legacy good/bad ratings and for scores on the [csat] scale (docs/metrics.md "CSAT").
    scale_max: float | None = None
    category: str | None = None

    @property
    def is_answer(self) -> bool:
        """Whether this copy is a customer's answer rather than an offer of the survey."""
        return is_answer_score(self.score)


# Scores that mean the survey was offered (or withdrawn) and not answered: Zendesk
# `offered`/`unoffered`, and "" for a record without a score (docs/metrics.md "CSAT": offers are
# not answers). Compared after `strip().lower()`.
OFFER_SCORES = frozenset({"offered", "unoffered", ""})


def is_answer_score(score: str) -> bool:
    """Whether a rating score is an answer (docs/metrics.md "CSAT"); scoring decides its meaning."""
    return score.strip().lower() not in OFFER_SCORES


@dataclass(frozen=True)
class RatingState:
    """The current answer of a rating as its interaction shows it (Zendesk embeds it in the
    ticket). It corrects a stored `Rating` the customer changed after the ratings export
    stopped returning it, and creates the rating when none is stored yet (the ratings
    stream, read later, then supplies the recorded agent and the first answer's moment).
    `seen_at` is when the interaction last changed, taken as the moment of the answer;
    `agent_id` is the interaction's owner at that moment.
    """

    source: str
    rating_id: str
    interaction_id: str
    score: str
    comment: str | None
    seen_at: datetime
    agent_id: str | None = None

    @property
    def is_answer(self) -> bool:
        return is_answer_score(self.score)


@dataclass(frozen=True)
class Quarantined:
    """A source record that could not be read, set aside instead of stopping the stream
    (the source's `bad_records = "quarantine"`). `record` is the record as received, as
    JSON text (possibly cut short), holding only the fields deskmetrics reads; `error`
    says what is wrong with it and what became of it.
    """

    source: str
    stream: str
    record_id: str
    error: str
    record: str
    seen_at: datetime

    @classmethod
    def of(
        cls,
        source: str,
        stream: str,
        record: Mapping[str, Any],
        id_key: str,
        error: str,
        seen_at: datetime,
    ) -> Quarantined:
        """`record` (its `id_key` value its id), set aside with the error.

        The connector passes the fields it reads of the record, never more. `error` is a
        `MalformedRecordError`'s message: what it says of the page holding the record is
        true only of a record that stops its stream, so it is replaced by what happened.
        """
        fault = error.split(PAGE_NOT_STORED, 1)[0].rstrip()
        return cls(
            source=source,
            stream=stream,
            record_id=str(record.get(id_key))[:200],
            error=f"{fault} {SET_ASIDE}",
            record=json.dumps(record, default=str, sort_keys=True)[:QUARANTINE_RECORD_CHARS],
            seen_at=seen_at,
        )


QUARANTINE_RECORD_CHARS = 65536  # of a set-aside record kept as JSON text
SET_ASIDE = (
    'It was set aside in quarantine (bad_records = "quarantine") and is not counted; the '
    "rest of its page was stored. If the API really sends this, please report it with the "
    "record `deskmetrics quarantine --show ID` prints."
)


@dataclass(frozen=True)
class History:
    """An interaction with everything recorded about it: what scoring reads."""

    interaction: Interaction
    ownership: tuple[OwnershipChange, ...] = field(default_factory=tuple)
    statuses: tuple[StatusChange, ...] = field(default_factory=tuple)
    ratings: tuple[Rating, ...] = field(default_factory=tuple)
    satisfaction: tuple[SatisfactionChange, ...] = field(default_factory=tuple)
