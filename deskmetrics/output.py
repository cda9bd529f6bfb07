"""Report rows as a terminal table, CSV or JSON: the only place that formats figures.

Empty cells stand for "no value" (a rate with a zero denominator, the unassigned row's
agent columns): blank in the table and CSV, `null` in JSON. Percentages keep the one
decimal scoring rounded them to.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import astuple

from rich.console import Console
from rich.table import Table

from scoring import REPORT_COLUMNS, ReportRow

FORMATS = ("table", "csv", "json")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def as_csv(rows: Sequence[ReportRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(value) for value in astuple(row)])
    return buffer.getvalue()


def as_json(rows: Sequence[ReportRow]) -> str:
    return json.dumps(
        [dict(zip(REPORT_COLUMNS, astuple(row), strict=True)) for row in rows], indent=2
    )


def _rate(pct: float | None, low: float | None, high: float | None) -> str:
    return "" if pct is None else f"{pct:.1f} ({low:.1f}-{high:.1f})"


def print_table(rows: Sequence[ReportRow], console: Console, title: str) -> None:
    """A readable summary: each rate with its 95 % interval in one cell (all columns, one
    per field, are in the CSV and JSON formats)."""
    table = Table(title=title, header_style="bold", caption="rate % (95 % interval)")
    for header in (
        "source",
        "agent",
        "handled",
        "transferred",
        "transfer %",
        "resolved",
        "fcr / eligible",
        "fcr %",
        "csat n",
        "csat %",
        "csat mean %",
        "low sample",
    ):
        numeric = header not in ("source", "agent", "low sample")
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for r in rows:
        table.add_row(
            r.source,
            r.agent_name or r.agent_id or "(unassigned)",
            str(r.handled),
            str(r.transferred_out),
            _rate(r.transfer_pct, r.transfer_ci_low, r.transfer_ci_high),
            str(r.resolved),
            f"{r.fcr} / {r.fcr_eligible}",
            _rate(r.fcr_pct, r.fcr_ci_low, r.fcr_ci_high),
            str(r.csat_responses),
            _rate(r.csat_pct, r.csat_ci_low, r.csat_ci_high),
            _cell(r.csat_mean_pct),
            r.low_sample,
        )
    console.print(table)
