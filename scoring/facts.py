"""Per-agent-per-day counts from interaction histories (METRICS.md "Additivity").

Owns `AgentDayFact`, `Contact` and `score_days`: the counts every rate is later computed
from. Rates are never stored here, only numerators and denominators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from interactions import History
from scoring.csat import responses
from scoring.settings import ScoringSettings, day_of
from scoring.timeline import replay, resolution_now, resolver_for_csat


@dataclass(frozen=True)
class Contact:
    """One non-deleted interaction of a customer, for repeat-contact checks."""

    interaction_id: str
    created_at: datetime


@dataclass(frozen=True)
class AgentDayFact:
    """Additive counts of one agent (None: the unassigned row) on one day of one source."""

    source: str
    agent_id: str | None
    day: date
    handled: int = 0
    transferred_out: int = 0
    resolved: int = 0
    fcr_eligible: int = 0
    fcr: int = 0
    csat_responses: int = 0
    csat_satisfied: int = 0
    csat_score_sum: float = 0.0


COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AgentDayFact))[3:]

_Key = tuple[str, str | None, date]


class _Ledger:
    """Accumulates counts per (source, agent, day); private and short-lived."""

    def __init__(self) -> None:
        self._facts: dict[_Key, AgentDayFact] = {}

    def add(self, source: str, agent_id: str | None, day: date, **counts: float) -> None:
        key = (source, agent_id, day)
        fact = self._facts.get(key) or AgentDayFact(source, agent_id, day)
        self._facts[key] = replace(
            fact, **{name: getattr(fact, name) + value for name, value in counts.items()}
        )

    def facts(self) -> list[AgentDayFact]:
        kept = [f for f in self._facts.values() if any(getattr(f, n) for n in COUNT_FIELDS)]
        return sorted(
            kept, key=lambda f: (f.source, f.day, f.agent_id or "", f.agent_id is not None)
        )


def _has_repeat_contact(
    history: History,
    resolved_at: datetime,
    contacts: Mapping[tuple[str, str], Sequence[Contact]],
    deleted: frozenset[tuple[str, str]],
    window: timedelta,
) -> bool:
    # METRICS.md "Resolution and first-contact resolution (FCR)", condition 2.
    interaction = history.interaction
    if interaction.customer_id is None:
        return False
    return any(
        c.interaction_id != interaction.interaction_id
        and (interaction.source, c.interaction_id) not in deleted  # deleted: no repeat contact
        and interaction.created_at < c.created_at <= resolved_at + window
        for c in contacts.get((interaction.source, interaction.customer_id), ())
    )


def score_days(
    histories: Iterable[History],
    contacts: Mapping[tuple[str, str], Sequence[Contact]],
    high_water_marks: Mapping[str, datetime | None],
    settings: ScoringSettings,
) -> list[AgentDayFact]:
    """The facts of every (source, agent, day) these histories contribute to.

    `contacts` are keyed by (source, customer_id); `high_water_marks` by source, where None
    (or a missing source) means nothing is known complete, so every FCR is still pending.
    Rows whose counts are all zero are left out; the result is sorted by source, day, agent.
    """
    all_histories = list(histories)
    # METRICS.md "Left out": deleted interactions and their ratings count nowhere.
    deleted = frozenset(
        (h.interaction.source, h.interaction.interaction_id)
        for h in all_histories
        if h.interaction.deleted
    )
    window = timedelta(hours=settings.repeat_window_hours)
    ledger = _Ledger()
    for history in all_histories:
        interaction = history.interaction
        if interaction.deleted:
            continue
        source = interaction.source
        timeline = replay(history)

        # METRICS.md "Handled" and "Transfer out": both on the day A first became owner.
        for agent, first_at in timeline.first_owned_at.items():
            moved = 1 if agent in timeline.transferred_out else 0
            ledger.add(source, agent, day_of(first_at, settings), handled=1, transferred_out=moved)

        resolution = resolution_now(history, timeline)
        if resolution is not None:
            day = day_of(resolution.at, settings)
            hwm = high_water_marks.get(source)
            # METRICS.md "Resolution and first-contact resolution (FCR)": pending while open.
            pending = hwm is None or resolution.at + window > hwm
            is_fcr = (
                not timeline.reopened
                and not (settings.transfer_breaks_fcr and timeline.transferred_out)
                and not _has_repeat_contact(history, resolution.at, contacts, deleted, window)
            )
            ledger.add(
                source,
                resolution.resolver,
                day,
                resolved=1,
                fcr_eligible=0 if pending else 1,
                fcr=1 if is_fcr and not pending else 0,
            )

        # METRICS.md "CSAT": recorded agent, else resolver, else unassigned.
        fallback = resolver_for_csat(history, timeline)
        for response in responses(history.ratings, settings):
            owner = (response.agent_id or fallback) if timeline.ever_owned else None
            ledger.add(
                source,
                owner,
                day_of(response.first_answered_at, settings),
                csat_responses=1,
                csat_satisfied=1 if response.satisfied else 0,
                csat_score_sum=response.score_pct,
            )
    return ledger.facts()
