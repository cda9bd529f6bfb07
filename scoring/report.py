"""Report rows from summed counts (docs/metrics.md "Confidence", "Rows of a report",
"People across sources").

Owns `Totals`, `ReportRow`, `REPORT_COLUMNS`, `sum_facts` and `report_rows`: rates, their
intervals and the low-sample flag are computed here from sums, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from interactions import Agent, InputError
from scoring.confidence import percent, round1, wilson_interval
from scoring.facts import COUNT_FIELDS, AgentDayFact
from scoring.ordering import id_key
from scoring.settings import ScoringSettings


@dataclass(frozen=True)
class Totals:
    """Summed `AgentDayFact` counts of one (source, agent_id) over a period."""

    source: str
    agent_id: str | None
    handled: int
    transferred_out: int
    resolved: int
    fcr_eligible: int
    fcr: int
    csat_responses: int
    csat_satisfied: int
    csat_score_sum: float


@dataclass(frozen=True)
class ReportRow:
    """One row of the report; the field order is the column order."""

    source: str
    agent_id: str | None
    agent_name: str | None
    agent_email: str | None
    handled: int
    transferred_out: int
    transfer_pct: float | None
    transfer_ci_low: float | None
    transfer_ci_high: float | None
    resolved: int
    fcr_eligible: int
    fcr: int
    fcr_pct: float | None
    fcr_ci_low: float | None
    fcr_ci_high: float | None
    csat_responses: int
    csat_satisfied: int
    csat_pct: float | None
    csat_ci_low: float | None
    csat_ci_high: float | None
    csat_mean_pct: float | None
    low_sample: str


REPORT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ReportRow))
REPORT_BY: tuple[str, ...] = ("agent", "person")


def _add(a: Totals, b: Totals, source: str, agent_id: str | None) -> Totals:
    return Totals(source, agent_id, *(getattr(a, n) + getattr(b, n) for n in COUNT_FIELDS))


def _zero(source: str, agent_id: str | None) -> Totals:
    return Totals(source, agent_id, 0, 0, 0, 0, 0, 0, 0, 0.0)


def sum_facts(facts: Iterable[AgentDayFact]) -> list[Totals]:
    """Totals per (source, agent_id) of the given facts (docs/metrics.md "Additivity")."""
    sums: dict[tuple[str, str | None], Totals] = {}
    for f in facts:
        key = (f.source, f.agent_id)
        counts = Totals(f.source, f.agent_id, *(getattr(f, n) for n in COUNT_FIELDS))
        sums[key] = _add(sums.get(key) or _zero(*key), counts, *key)
    return [sums[k] for k in sorted(sums, key=lambda k: (k[0], k[1] or "", k[1] is not None))]


def _nonzero(t: Totals) -> bool:
    return any(getattr(t, n) for n in COUNT_FIELDS)


def _rate(num: int, den: int) -> tuple[float | None, float | None, float | None]:
    interval = wilson_interval(num, den)
    if interval is None:
        return (None, None, None)  # docs/metrics.md "Confidence": zero denominator, empty cells
    return (percent(num, den), round1(100 * interval[0]), round1(100 * interval[1]))


def _row(t: Totals, name: str | None, email: str | None, settings: ScoringSettings) -> ReportRow:
    # docs/metrics.md "Confidence": flagged when 0 < denominator < min_sample, in this order.
    denominators = (("transfer", t.handled), ("fcr", t.fcr_eligible), ("csat", t.csat_responses))
    flagged = [m for m, den in denominators if 0 < den < settings.min_sample]
    mean = round1(t.csat_score_sum / t.csat_responses) if t.csat_responses else None
    return ReportRow(
        t.source,
        t.agent_id,
        name,
        email,
        t.handled,
        t.transferred_out,
        *_rate(t.transferred_out, t.handled),
        t.resolved,
        t.fcr_eligible,
        t.fcr,
        *_rate(t.fcr, t.fcr_eligible),
        t.csat_responses,
        t.csat_satisfied,
        *_rate(t.csat_satisfied, t.csat_responses),
        mean,
        " ".join(flagged),
    )


def _order(row: ReportRow) -> tuple[str, bool, bool, str, str]:
    # docs/metrics.md "Rows of a report": source, then name, each source's unassigned row last.
    name = row.agent_name
    return (
        row.source,
        row.agent_id is None,
        name is None,
        (name or "").casefold(),
        row.agent_id or "",
    )


def _address(agent: Agent | None) -> str:
    return (agent.email or "").strip().casefold() if agent else ""


def _merged(
    totals: list[Totals], agents: Mapping[tuple[str, str], Agent]
) -> list[tuple[Totals, str | None, str | None]]:
    """Totals merged into people (docs/metrics.md "People across sources"), with name and e-mail.

    A person is named by every agent the warehouse knows with their address, whether or
    not each had activity in the period: the same person has the same key in every period.
    """
    known: dict[str, list[tuple[str, str]]] = {}
    for known_agent, agent in agents.items():
        if _address(agent):
            known.setdefault(_address(agent), []).append(known_agent)
    people: dict[str, list[Totals]] = {}
    for t in totals:
        # An agent without an e-mail address is a person alone.
        address = _address(agents.get((t.source, t.agent_id or "")))
        person = f"@{address}" if address else f"#{t.source}\0{t.agent_id}"
        people.setdefault(person, []).append(t)
    merged: list[tuple[Totals, str | None, str | None]] = []
    for person, active in people.items():
        if person.startswith("@"):
            members = known[person[1:]]
        else:
            members = [(active[0].source, active[0].agent_id or "")]
        members = sorted(set(members), key=lambda m: (m[0], id_key(m[1])))
        source = "+".join(sorted({member_source for member_source, _ in members}))
        agent_id = "+".join(f"{member_source}:{member}" for member_source, member in members)
        total = _zero(source, agent_id)
        for t in active:
            total = _add(total, t, source, agent_id)
        first = agents.get(members[0])
        name = first.name if first else None
        email = first.email.strip().lower() if first and first.email else None
        merged.append((total, name, email))
    return merged


def report_rows(
    totals: Iterable[Totals],
    agents: Mapping[tuple[str, str], Agent],
    by: str,
    settings: ScoringSettings,
) -> list[ReportRow]:
    """The report's rows, by "agent" or by "person", in report order.

    `agents` is keyed by (source, agent_id); an agent without a record gets empty name and
    e-mail. Totals of the same (source, agent_id) are added together first.
    """
    if by not in REPORT_BY:
        raise InputError(f"cannot report by {by!r}: choose one of {', '.join(REPORT_BY)}")
    summed: dict[tuple[str, str | None], Totals] = {}
    for t in totals:
        key = (t.source, t.agent_id)
        summed[key] = _add(summed.get(key) or _zero(*key), t, *key)
    kept = [t for t in summed.values() if _nonzero(t)]
    unassigned = [t for t in kept if t.agent_id is None]
    assigned = [t for t in kept if t.agent_id is not None]

    rows = [_row(t, None, None, settings) for t in unassigned]
    if by == "agent":
        for t in assigned:
            agent = agents.get((t.source, t.agent_id or ""))
            name, email = (agent.name, agent.email) if agent else (None, None)
            rows.append(_row(t, name, email, settings))
    else:
        rows.extend(_row(t, name, email, settings) for t, name, email in _merged(assigned, agents))
    return sorted(rows, key=_order)
