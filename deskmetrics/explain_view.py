"""`explain` printed: the credits as a table, CSV or JSON, and the line saying whether they
add up to the report row (docs/metrics.md "Explaining a figure").

Text from a source (ids, links) is shown as data, as deskmetrics/output.py does for the
report: controls escaped, spreadsheet formulas quoted in CSV.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from deskmetrics.explain import METRIC_OF_KIND, Explanation
from deskmetrics.output import agent_label, csv_row, visible
from warehouse.ledger import LedgerRow

CREDIT_COLUMNS = (
    "source",
    "agent_id",
    "metric",
    "day",
    "interaction_id",
    "verdict",
    "reason",
    "at",
    "handled",
    "transferred_out",
    "resolved",
    "fcr_eligible",
    "fcr",
    "csat_responses",
    "csat_satisfied",
    "csat_score_sum",
    "transferred_at",
    "transferred_to",
    "reopened_at",
    "repeat_interaction_id",
    "repeat_created_at",
    "pending_until",
    "survey_id",
    "score",
    "answered_at",
    "link",
)
_TEXT = frozenset(
    {"source", "agent_id", "interaction_id", "transferred_to", "repeat_interaction_id",
     "survey_id", "score", "link", "reason"}
)  # fmt: skip


def _value(credit: LedgerRow, column: str) -> Any:
    values = credit.values
    if column == "metric":
        return METRIC_OF_KIND[values["kind"]]
    if column == "agent_id":
        return credit.agent_id
    if column == "survey_id":
        return values["credit_key"] if values["kind"] == "csat" else None
    if column == "link":
        return credit.link
    return values[column]


def _plain(value: Any) -> Any:
    """A value as JSON holds it: moments in ISO 8601 (UTC), days as YYYY-MM-DD."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def summary(explanation: Explanation) -> str:
    """One line: the credits' sums against the report row, and whether they agree."""
    parts = []
    for check in explanation.checks:
        shown = _cell(check.credits) or "none"
        mark = "" if check.agrees else f" (report: {_cell(check.report) or 'none'})"
        parts.append(f"{check.column} {shown}{mark}")
    verdict = (
        "add up to the report row" if explanation.agrees else "do NOT add up to the report row"
    )
    return f"{len(explanation.credits)} credits {verdict}: " + ", ".join(parts)


def as_csv(explanation: Explanation, raw: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CREDIT_COLUMNS)
    for credit in explanation.credits:
        cells = [_cell(_plain(_value(credit, c))) for c in CREDIT_COLUMNS]
        writer.writerow(csv_row(CREDIT_COLUMNS, cells, _TEXT, raw))
    return buffer.getvalue()


def as_json(explanation: Explanation) -> str:
    row = explanation.row
    document = {
        "source": row.source,
        "agent_id": row.agent_id,
        "agent_name": row.agent_name,
        "metrics": list(explanation.metrics),
        "totals": [
            {"column": c.column, "credits": c.credits, "report": c.report, "agrees": c.agrees}
            for c in explanation.checks
        ],
        "agrees": explanation.agrees,
        "credits": [
            {c: _plain(_value(credit, c)) for c in CREDIT_COLUMNS} for credit in explanation.credits
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=True)


def print_explanation(explanation: Explanation, console: Console, title: list[str]) -> None:
    for line in title:
        console.print(Text(visible(line)))
    console.print(
        Text(visible(f"agent: {agent_label(explanation.row)} ({explanation.row.source})"))
    )
    table = Table(box=box.SIMPLE_HEAD)
    for heading in ("day", "metric", "interaction", "verdict", "why", "link"):
        table.add_column(heading, overflow="fold")
    for credit in explanation.credits:
        table.add_row(
            *(
                Text(visible(_cell(_value(credit, c))))
                for c in ("day", "metric", "interaction_id", "verdict", "reason", "link")
            )
        )
    console.print(table)
    console.print(Text(summary(explanation)))
