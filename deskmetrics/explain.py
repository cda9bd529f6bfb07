"""`deskmetrics explain`: the credits behind one report row, and the check that they add up.

Owns finding the report row of an agent (by id or e-mail, per source agent or per person),
reading its credits from the ledger (warehouse/ledger.py) and comparing their sums with
the row (docs/metrics.md "Explaining a figure"). The report is made first, as `report`
makes it (dirty days rescored), so the two read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from deskmetrics.export import fresh_report
from deskmetrics.settings import Settings
from interactions import DeskmetricsError, InputError
from scoring import ReportRow
from scoring.confidence import round1
from warehouse.ledger import LedgerRow, credits_between

# Each metric, the ledger kind of its credits, and the report columns they add up to.
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "transfer": ("handled", ("handled", "transferred_out")),
    "fcr": ("resolution", ("resolved", "fcr_eligible", "fcr")),
    "csat": ("csat", ("csat_responses", "csat_satisfied")),
}
METRIC_OF_KIND = {kind: metric for metric, (kind, _) in METRICS.items()}


class LedgerMismatch(DeskmetricsError):
    """The credits of a report row do not add up to it: the ledger is older than the facts."""


@dataclass(frozen=True)
class Check:
    """One figure of the report row, and what its credits add up to."""

    column: str
    credits: float | None
    report: float | None

    @property
    def agrees(self) -> bool:
        return self.credits == self.report


@dataclass(frozen=True)
class Explanation:
    row: ReportRow
    metrics: tuple[str, ...]
    credits: list[LedgerRow]
    checks: list[Check]

    @property
    def agrees(self) -> bool:
        return all(check.agrees for check in self.checks)


def _matches(row: ReportRow, who: str, by: str) -> bool:
    if row.agent_id is None:
        return False
    if row.agent_email is not None and row.agent_email.casefold() == who.casefold():
        return True
    if by == "person":
        # A person's agent_id is `source:id+source:id`: any of them, or one id, names it.
        members = _members(row)
        return who == row.agent_id or any(who in (f"{s}:{a}", a) for s, a in members)
    return who == row.agent_id


def _members(row: ReportRow) -> list[tuple[str, str]]:
    """The (source, agent_id) pairs of a row of a report by person (`source:id+…`)."""
    return [member.partition(":")[::2] for member in (row.agent_id or "").split("+")]


def agents_of(row: ReportRow, by: str) -> list[tuple[str, str | None]]:
    """The (source, agent_id) pairs whose credits make up the row."""
    if by == "person" and row.agent_id is not None:
        return list(_members(row))
    return [(row.source, row.agent_id)]


def find_row(rows: list[ReportRow], who: str, by: str, since: date, until: date) -> ReportRow:
    found = [row for row in rows if _matches(row, who, by)]
    if not found:
        raise InputError(
            f"--agent {who!r} has no row in the report of {since} to {until} (by {by}): no "
            "activity then, or no agent with that id or e-mail. `deskmetrics report` lists "
            "the rows of the period."
        )
    if len(found) > 1:
        named = ", ".join(f"{row.source}:{row.agent_id}" for row in found)
        raise InputError(
            f"--agent {who!r} matches {len(found)} report rows ({named}): add --source, or "
            "--by person to add them up."
        )
    return found[0]


def _checks(row: ReportRow, credits: list[LedgerRow], metrics: tuple[str, ...]) -> list[Check]:
    checks = []
    for metric in metrics:
        for column in METRICS[metric][1]:
            summed = sum(credit.values[column] for credit in credits)
            checks.append(Check(column, summed, getattr(row, column)))
        if metric == "csat":
            # docs/metrics.md "Additivity": the mean is the score sum over the responses.
            responses = sum(c.values["csat_responses"] for c in credits)
            score_sum = sum(c.values["csat_score_sum"] for c in credits)
            mean = round1(score_sum / responses) if responses else None
            checks.append(Check("csat_mean_pct", mean, row.csat_mean_pct))
    return checks


def explain(
    engine: Engine,
    settings: Settings,
    who: str,
    since: date,
    until: date,
    metric: str | None = None,
    source: str | None = None,
    by: str = "agent",
) -> Explanation:
    """The credits behind `who`'s report row over local days [since, until), with `metric`
    (transfer, fcr, csat; None: all three), and how they add up against the row."""
    report = fresh_report(engine, settings, since, until, source, by)
    row = find_row(report.rows, who, by, since, until)
    metrics = (metric,) if metric is not None else tuple(METRICS)
    kinds = {METRICS[m][0] for m in metrics}
    credits = [
        credit
        for credit in credits_between(engine, agents_of(row, by), since, until)
        if credit.values["kind"] in kinds
    ]
    return Explanation(row, metrics, credits, _checks(row, credits, metrics))
