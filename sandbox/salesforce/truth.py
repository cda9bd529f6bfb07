"""The ground truth of a desk in Salesforce terms: what a report of its Salesforce face is.

Owns `daily_facts` and `report_rows` (sandbox/desk/truth.py's, given Salesforce's source name, its
agent ids, the User Id of each desk user, and its CSAT) and `csat_answers` (each case's one
CSAT response, as `Case_Survey__c` and Feedback Management both show it). Computed by
construction from the desk's recorded steps and ratings, never from the API JSON. The face
shows only the desk's legacy ratings, so its new-CSAT survey responses are in neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sandbox.desk import Desk, truth
from sandbox.desk.survey_truth import Add
from sandbox.salesforce.ids import case_id, user_id
from sandbox.salesforce.values import survey_score

SOURCE = "salesforce"
# docs/metrics.md "CSAT": the defaults of `csat.scale_min`, `csat.scale_max`,
# `csat.satisfied_threshold`.
SCALE_MIN, SCALE_MAX, SATISFIED_FROM = 1, 5, 4


@dataclass(frozen=True)
class CsatAnswer:
    """A case's CSAT response: the latest answer's score, counted when first answered."""

    case_id: str
    ticket_id: int
    first_answered_at: datetime
    score: int  # on SCALE_MIN..SCALE_MAX, as the face shows it

    @property
    def satisfied(self) -> bool:
        return self.score >= SATISFIED_FROM


def csat_answers(desk: Desk) -> list[CsatAnswer]:
    """Every live case's CSAT response, in case Id order; offers and deleted cases have none."""
    with desk.lock:
        answers = [
            CsatAnswer(case_id(latest.ticket_id), latest.ticket_id, first, survey_score(latest))
            for first, latest in truth.answered_ratings(desk)
        ]
    return sorted(answers, key=lambda a: a.case_id)


def _salesforce_csat(
    desk: Desk,
    add: Add,
    day_of: Callable[[datetime], date],
    resolver_of: Mapping[int, int | None],
) -> None:
    """docs/metrics.md "CSAT": Salesforce's answers name no agent, so each goes to the case's
    resolver (even if reopened since), else to no agent."""
    for answer in csat_answers(desk):
        agent = resolver_of.get(answer.ticket_id)
        day = day_of(answer.first_answered_at)
        add(agent, day, "csat_responses", 1)
        if answer.satisfied:
            add(agent, day, "csat_satisfied", 1)
        points = 100 * (answer.score - SCALE_MIN)
        assert points % (SCALE_MAX - SCALE_MIN) == 0  # the face's scores give whole points
        add(agent, day, "csat_score_sum", points // (SCALE_MAX - SCALE_MIN))


def daily_facts(
    desk: Desk,
    timezone: str = "UTC",
    repeat_window_hours: float = 72,
    transfer_breaks_fcr: bool = False,
    high_water_mark: datetime | None = None,
) -> list[dict[str, Any]]:
    """Counts per (agent_id = Salesforce User Id, or None for no agent; local day)."""
    with desk.lock:
        return truth.daily_facts(
            desk, timezone, repeat_window_hours, transfer_breaks_fcr, high_water_mark,
            csat=_salesforce_csat, agent_id=user_id,
        )  # fmt: skip


def report_rows(
    desk: Desk,
    since: date,
    until: date,
    timezone: str = "UTC",
    repeat_window_hours: float = 72,
    transfer_breaks_fcr: bool = False,
    min_sample: int = 30,
    high_water_mark: datetime | None = None,
    source: str = SOURCE,
) -> list[dict[str, Any]]:
    """The per-agent report rows over local days [since, until), in report order, with
    `source` as given and `agent_id` the Salesforce User Id."""
    with desk.lock:
        return truth.report_rows(
            desk, since, until, timezone, repeat_window_hours, transfer_breaks_fcr, min_sample,
            high_water_mark, source=source, csat=_salesforce_csat, agent_id=user_id,
        )  # fmt: skip
