"""The credit ledger: every count of one interaction, with its verdict and its reason.

Owns `Credit`, `credits_of` and the repeat-contact look-up (`Contact`, `ContactIndex`). A
credit is one row that adds to an agent's day: `handled` (with the transfer out, if any),
`resolution` (with FCR eligibility and FCR, or why not) or `csat` (one survey's response).
The rules of docs/metrics.md are applied here and only here: `FactTally` (scoring/facts.py)
adds credits up into `AgentDayFact`s, so the ledger and the facts cannot disagree, and a
credit's reason says in words which rule decided it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from interactions import History
from scoring.csat import Response, responses
from scoring.settings import ScoringSettings, day_of
from scoring.timeline import Timeline, replay, resolution_now, resolver_for_csat

HANDLED, RESOLUTION, CSAT = "handled", "resolution", "csat"
CREDIT_KINDS = (HANDLED, RESOLUTION, CSAT)

# Verdicts, one word each, for BI filters; the reason says the same in a sentence.
TRANSFERRED, KEPT = "transferred", "kept"
FCR, NOT_FCR, PENDING = "fcr", "not_fcr", "pending"
SATISFIED, UNSATISFIED = "satisfied", "unsatisfied"


@dataclass(frozen=True)
class Contact:
    """One non-deleted interaction of a customer, for repeat-contact checks."""

    interaction_id: str
    created_at: datetime


_CustomerKey = tuple[str, str]  # (source, customer_id)
_InteractionKey = tuple[str, str]  # (source, interaction_id)


class ContactIndex:
    """Each customer's contacts sorted by creation time, built when first asked for."""

    def __init__(
        self,
        contacts: Mapping[_CustomerKey, Sequence[Contact]],
        deleted: frozenset[_InteractionKey],
    ) -> None:
        self._contacts = contacts
        self._deleted = deleted
        self._sorted: dict[_CustomerKey, tuple[list[datetime], list[str]]] = {}

    def of(self, source: str, customer_id: str) -> tuple[list[datetime], list[str]]:
        key = (source, customer_id)
        found = self._sorted.get(key)
        if found is None:
            kept = sorted(
                (c.created_at, c.interaction_id)
                for c in self._contacts.get(key, ())
                # docs/metrics.md "Resolution and first-contact resolution (FCR)": deleted
                # interactions are no repeat contact.
                if (source, c.interaction_id) not in self._deleted
            )
            found = ([at for at, _ in kept], [iid for _, iid in kept])
            self._sorted[key] = found
        return found

    def repeat_contact(
        self, history: History, resolved_at: datetime, window: timedelta
    ) -> Contact | None:
        """The first other contact of the customer created strictly after the interaction's
        creation and no later than its resolution + window, or None (docs/metrics.md
        "Resolution and first-contact resolution (FCR)", condition 2)."""
        interaction = history.interaction
        if interaction.customer_id is None:
            return None
        created, ids = self.of(interaction.source, interaction.customer_id)
        first = bisect_right(created, interaction.created_at)
        last = bisect_right(created, resolved_at + window)
        for k in range(first, last):
            if ids[k] != interaction.interaction_id:
                return Contact(ids[k], created[k])
        return None


class Credit(NamedTuple):
    """One row of the credit ledger: what one interaction adds to one agent's day.

    Immutable like the model's records, but a named tuple rather than a frozen dataclass:
    a score makes several per interaction, and a frozen dataclass's `__init__` (a
    `object.__setattr__` per field) cost a fifth of computing them.

    `agent_id` None is the source's unassigned row. `key` tells credits of the same kind of
    one interaction apart: the agent for `handled`, "" for `resolution`, the survey id for
    `csat`. `at` is the moment that sets `day`; the other moments are those that decided
    the verdict (None where they play no part).
    """

    source: str
    interaction_id: str
    agent_id: str | None
    day: date
    kind: str
    key: str
    at: datetime
    verdict: str
    reason: str
    handled: int = 0
    transferred_out: int = 0
    resolved: int = 0
    fcr_eligible: int = 0
    fcr: int = 0
    csat_responses: int = 0
    csat_satisfied: int = 0
    csat_score_sum: float = 0.0
    transferred_at: datetime | None = None
    transferred_to: str | None = None  # the agent; None with transferred_at: no agent
    reopened_at: datetime | None = None
    repeat_interaction_id: str | None = None
    repeat_created_at: datetime | None = None
    pending_until: datetime | None = None
    score: str | None = None  # a response's latest answer, as the source records it
    answered_at: datetime | None = None  # the latest answer's moment


def _when(at: datetime) -> str:
    if at.year < 1000:  # strftime writes such a year without leading zeros
        return at.strftime("%Y-%m-%d %H:%M UTC")
    # The same text as strftime("%Y-%m-%d %H:%M UTC"), in half its time: a score writes
    # a few per interaction.
    return at.isoformat(" ", "minutes")[:16] + " UTC"


def _handled_credits(
    history: History, timeline: Timeline, settings: ScoringSettings
) -> list[Credit]:
    # docs/metrics.md "Handled" and "Transfer out": both on the day A first became owner.
    interaction = history.interaction
    found = []
    for agent, first_at in timeline.first_owned_at.items():
        transfer = timeline.transfers.get(agent)
        if transfer is None:
            verdict = KEPT
            reason = f"owner from {_when(first_at)}; never passed on while unresolved"
        else:
            verdict = TRANSFERRED
            to = f"agent {transfer.to}" if transfer.to is not None else "no agent (group/queue)"
            reason = (
                f"owner from {_when(first_at)}; passed on to {to} at "
                f"{_when(transfer.at)} while unresolved"
            )
        found.append(
            Credit(
                interaction.source,
                interaction.interaction_id,
                agent,
                day_of(first_at, settings),
                HANDLED,
                agent,
                first_at,
                verdict,
                reason,
                handled=1,
                transferred_out=0 if transfer is None else 1,
                transferred_at=None if transfer is None else transfer.at,
                transferred_to=None if transfer is None else transfer.to,
            )
        )
    return found


def _resolution_credit(
    history: History,
    timeline: Timeline,
    index: ContactIndex,
    high_water_mark: datetime | None,
    settings: ScoringSettings,
) -> Credit | None:
    # docs/metrics.md "Resolution and first-contact resolution (FCR)".
    resolution = resolution_now(history, timeline)
    if resolution is None:
        return None
    interaction = history.interaction
    window = timedelta(hours=settings.repeat_window_hours)
    closes = resolution.at + window
    who = "resolver" if resolution.resolver is not None else "never owned: the unassigned row"
    said = f"resolved at {_when(resolution.at)} ({who})"
    eligible = fcr = 0
    repeat: Contact | None = None
    reopened_at = timeline.reopened_at
    pending_until: datetime | None = None
    if high_water_mark is None or closes > high_water_mark:
        verdict, pending_until = PENDING, closes
        read = "never" if high_water_mark is None else f"only to {_when(high_water_mark)}"
        reason = f"{said}; FCR pending: its window closes {_when(closes)}, source read {read}"
    else:
        eligible = 1
        repeat = index.repeat_contact(history, resolution.at, window)
        breaks = settings.transfer_breaks_fcr and bool(timeline.transferred_out)
        if reopened_at is not None:
            verdict, reason = NOT_FCR, f"{said}; not FCR: reopened at {_when(reopened_at)}"
        elif repeat is not None:
            verdict = NOT_FCR
            reason = (
                f"{said}; not FCR: the customer opened {repeat.interaction_id} at "
                f"{_when(repeat.created_at)}, within {settings.repeat_window_hours:g} h"
            )
        elif breaks:
            verdict = NOT_FCR
            reason = f"{said}; not FCR: transferred, and fcr.transfer_breaks_fcr is on"
        else:
            verdict, fcr = FCR, 1
            reason = (
                f"{said}; FCR: never reopened, no other contact of the customer until "
                f"{_when(closes)}"
            )
    return Credit(
        interaction.source,
        interaction.interaction_id,
        resolution.resolver,
        day_of(resolution.at, settings),
        RESOLUTION,
        "",
        resolution.at,
        verdict,
        reason,
        resolved=1,
        fcr_eligible=eligible,
        fcr=fcr,
        reopened_at=reopened_at,
        repeat_interaction_id=None if repeat is None else repeat.interaction_id,
        repeat_created_at=None if repeat is None else repeat.created_at,
        pending_until=pending_until,
    )


def owned_responses(
    history: History, timeline: Timeline, settings: ScoringSettings
) -> list[tuple[Response, str | None, str]]:
    """Each response of the interaction with the agent it belongs to and why (docs/metrics.md
    "CSAT"): the recorded agent (for a survey response, which records none, the owner at its
    latest answer), else the resolver, else none (the unassigned row)."""
    if not history.ratings:
        return []  # no rating, no response: most interactions, so no replay of resolutions
    fallback = resolver_for_csat(history, timeline)
    owned: list[tuple[Response, str | None, str]] = []
    for response in responses(history.ratings, settings, timeline.owner_at, history.satisfaction):
        if not timeline.ever_owned:
            owned.append((response, None, "no agent ever owned the interaction"))
        elif response.agent_id is not None:
            why = (
                "the owner at the latest answer"
                if response.agent_is_owner_at_answer
                else "the agent recorded on the latest answer"
            )
            owned.append((response, response.agent_id, why))
        elif fallback is not None:
            owned.append((response, fallback, "no agent on the answer: the resolver"))
        else:
            owned.append((response, None, "no agent on the answer and no resolver"))
    return owned


def _csat_credits(history: History, timeline: Timeline, settings: ScoringSettings) -> list[Credit]:
    interaction = history.interaction
    found = []
    for response, agent, why in owned_responses(history, timeline, settings):
        first = response.first_answered_at
        found.append(
            Credit(
                interaction.source,
                interaction.interaction_id,
                agent,
                day_of(first, settings),
                CSAT,
                response.key,
                first,
                SATISFIED if response.satisfied else UNSATISFIED,
                f"answered {response.score!r} (first answer {_when(first)}), "
                f"scoring {response.score_pct:g}; belongs to {why}",
                csat_responses=1,
                csat_satisfied=1 if response.satisfied else 0,
                csat_score_sum=response.score_pct,
                score=response.score,
                answered_at=response.latest_answered_at,
            )
        )
    return found


def credits_of(
    history: History,
    index: ContactIndex,
    high_water_mark: datetime | None,
    settings: ScoringSettings,
) -> list[Credit]:
    """Every credit of one interaction (none for a deleted one: docs/metrics.md "Left out").

    `index` holds the customer's contacts around its repeat window; `high_water_mark` is its
    source's (None: never read completely, so every FCR is pending)."""
    if history.interaction.deleted:
        return []
    timeline = replay(history)
    found = _handled_credits(history, timeline, settings)
    resolution = _resolution_credit(history, timeline, index, high_water_mark, settings)
    if resolution is not None:
        found.append(resolution)
    found.extend(_csat_credits(history, timeline, settings))
    return found
