"""Per-agent-per-day counts from interaction histories (docs/metrics.md "Additivity").

Owns `AgentDayFact`, `FactTally` and `score_days`: the counts every rate is later
computed from, each the sum of credits of the credit ledger (scoring/ledger.py, which
applies the rules). Rates are never stored here, only numerators and denominators.
Counts are additive over histories, so histories scored in any batches into one
`FactTally` give exactly the facts of scoring them at once; and `repeat_contact_windows`
says which contacts a batch needs, so a caller never loads a customer's whole past.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from fractions import Fraction
from operator import add, attrgetter

from interactions import History
from scoring.ledger import Contact, ContactIndex, Credit, credits_of, owned_responses
from scoring.settings import ScoringSettings
from scoring.timeline import replay


@dataclass(frozen=True, slots=True)  # slots: a chunk of days holds agents x days of them
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
_INT_FIELDS = COUNT_FIELDS[:-1]  # every count but csat_score_sum
_credit_ints = attrgetter(*_INT_FIELDS)  # a credit's counts of _INT_FIELDS, in order

_Key = tuple[str, str | None, date]
_CustomerKey = tuple[str, str]  # (source, customer_id)


class _Counts:
    """The counts of one (source, agent, day) while they are being added up."""

    __slots__ = ("ints", "score_sum")

    def __init__(self) -> None:
        self.ints = [0] * len(_INT_FIELDS)
        # Exact: the sum is the same whatever order and batches responses arrive in.
        self.score_sum: Fraction | int = 0


def response_agents(history: History, settings: ScoringSettings) -> dict[str, str | None]:
    """The agent each survey's response of this interaction belongs to, by survey id; a
    survey with no response (offers only) is not named."""
    timeline = replay(history)
    return {r.survey_id: agent for r, agent, _ in owned_responses(history, timeline, settings)}


class FactTally:
    """Counts per (source, agent, day), added up over any number of batches of histories.

    Every history adds to the counts on its own, so scoring a set of histories in batches
    gives the same facts as scoring them at once, provided each batch comes with the
    contacts its customers need (`repeat_contact_windows`).
    """

    def __init__(self, settings: ScoringSettings) -> None:
        self._settings = settings
        self._counts: dict[_Key, _Counts] = {}

    def add(
        self,
        histories: Iterable[History],
        contacts: Mapping[_CustomerKey, Sequence[Contact]],
        high_water_marks: Mapping[str, datetime | None],
    ) -> list[Credit]:
        """Add what these histories count; see `score_days` for the arguments. Returns
        their credits (scoring/ledger.py), which the counts are the sums of."""
        batch = list(histories)
        # docs/metrics.md "Left out": deleted interactions and their ratings count nowhere.
        deleted = frozenset(
            (h.interaction.source, h.interaction.interaction_id)
            for h in batch
            if h.interaction.deleted
        )
        index = ContactIndex(contacts, deleted)
        found: list[Credit] = []
        for history in batch:
            hwm = high_water_marks.get(history.interaction.source)
            found.extend(credits_of(history, index, hwm, self._settings))
        self.add_credits(found)
        return found

    def add_credits(self, credits: Iterable[Credit]) -> None:
        """Add credits to the counts of their (source, agent, day)."""
        for credit in credits:
            key = (credit.source, credit.agent_id, credit.day)
            counts = self._counts.get(key)
            if counts is None:
                counts = self._counts[key] = _Counts()
            counts.ints = list(map(add, counts.ints, _credit_ints(credit)))
            if credit.csat_responses:
                counts.score_sum += Fraction(credit.csat_score_sum)

    def facts(self, days: Iterable[date] | None = None) -> list[AgentDayFact]:
        """The facts counted so far (only of `days` if given), without all-zero rows,
        sorted by source, day, agent."""
        wanted = None if days is None else set(days)
        kept = [
            AgentDayFact(
                source,
                agent,
                day,
                **dict(zip(_INT_FIELDS, counts.ints, strict=True)),
                csat_score_sum=float(counts.score_sum),
            )
            for (source, agent, day), counts in self._counts.items()
            if (wanted is None or day in wanted) and any(counts.ints)
        ]
        return sorted(
            kept, key=lambda f: (f.source, f.day, f.agent_id or "", f.agent_id is not None)
        )


def repeat_contact_windows(
    histories: Iterable[History], settings: ScoringSettings
) -> dict[_CustomerKey, tuple[datetime, datetime]]:
    """Per (source, customer), the creation times between which a contact can be a repeat
    contact of one of these histories (docs/metrics.md
    "Resolution and first-contact resolution (FCR)", condition 2): from the earliest
    creation of the customer's resolved interactions among them to the latest moment one of
    them can have been resolved at, plus the repeat window. Contacts created outside it
    change no count of these histories.
    """
    window = timedelta(hours=settings.repeat_window_hours)
    spans: dict[_CustomerKey, tuple[datetime, datetime]] = {}
    for history in histories:
        interaction = history.interaction
        if interaction.deleted or interaction.customer_id is None or not interaction.resolved:
            continue
        # `resolution_now` takes a status change's update, solved_at or updated_at: none is
        # later than this, and finding it needs no replay.
        latest = max(
            interaction.updated_at,
            interaction.solved_at or interaction.updated_at,
            *(change.at for change in history.statuses),
        )
        key = (interaction.source, interaction.customer_id)
        start, end = interaction.created_at, latest + window
        if key in spans:
            start, end = min(start, spans[key][0]), max(end, spans[key][1])
        spans[key] = (start, end)
    return spans


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
    tally = FactTally(settings)
    tally.add(histories, contacts, high_water_marks)
    return tally.facts()
