"""Scoring: the pure rules of docs/metrics.md, from interaction histories to report rows.

This package owns every number deskmetrics reports. `score_days` turns interaction
histories into additive per-agent-per-day counts (`AgentDayFact`); `report_rows` turns
summed counts (`Totals`) into rates with Wilson intervals and low-sample flags, by agent or
by person. Nothing here does I/O or reads the clock: connectors and the warehouse supply
the records, the high-water marks and the settings.

    settings.py    ScoringSettings, day_of            METRICS "Words": Day
    timeline.py    owners, transfers, resolution      "Handled", "Transfer out", "Resolution"
    csat.py        responses per survey               "CSAT"
    ledger.py      Credit, credits_of, Contact        every rule, one credit a count, with
                                                      its verdict and reason
    facts.py       AgentDayFact, FactTally,           "Additivity" (credits summed)
                   score_days, repeat_contact_windows "FCR" (repeat contacts),
                   response_agents                    "CSAT" (whose response)
    confidence.py  wilson_interval, rounding          "Confidence"
    report.py      Totals, ReportRow, report_rows     "Rows of a report", "People across sources"
    ordering.py    id_key: numeric ids numerically    "Words": Update
"""

from scoring.confidence import wilson_interval
from scoring.facts import (
    AgentDayFact,
    FactTally,
    repeat_contact_windows,
    response_agents,
    score_days,
)
from scoring.ledger import Contact, Credit, credits_of
from scoring.report import REPORT_COLUMNS, ReportRow, Totals, report_rows, sum_facts
from scoring.settings import ScoringSettings, day_of

__all__ = [
    "REPORT_COLUMNS",
    "AgentDayFact",
    "Contact",
    "Credit",
    "FactTally",
    "ReportRow",
    "ScoringSettings",
    "Totals",
    "credits_of",
    "day_of",
    "repeat_contact_windows",
    "report_rows",
    "response_agents",
    "score_days",
    "sum_facts",
    "wilson_interval",
]
