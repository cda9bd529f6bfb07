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


def print_table(rows: Sequence[ReportRow], console: Console, title: str) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in REPORT_COLUMNS:
        numeric = column not in ("source", "agent_id", "agent_name", "agent_email", "low_sample")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*[_cell(value) for value in astuple(row)])
    console.print(table)
