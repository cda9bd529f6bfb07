"""Report rows and quarantined records as a terminal table, CSV or JSON: the only place that
formats figures and source text for people.

Empty cells stand for "no value" (a rate with a zero denominator, the unassigned row's
agent columns): blank in the table and CSV, `null` in JSON. Percentages keep the one
decimal scoring rounded them to. The unassigned row is one way in every format: empty
agent_id, agent_name and agent_email in CSV (null in JSON and Parquet), and the label
`(unassigned)` in the table's agent column, last among its source's rows.

The table (`print_table`) is for people: each rate with its sample size (`12.5% of 40`,
`*` when the sample is below `report.min_sample`), as wide as the terminal and at most 100
columns (names wrap first, then figures break at their spaces; nothing is cut, see
deskmetrics/table_widths.py); `wide` adds the counts, the 95 % intervals and the low-sample
column, a row a line however wide that makes it.

Text from a source (names, e-mails, ids, errors, records) is data, never markup or a
terminal control: the table prints it literally (rich markup such as `[bold]` is not
read), and every output shows control characters escaped (`visible`): C0 and C1 controls,
DEL, and the bidirectional and line-separator marks that reorder or break what a terminal
shows (`\\x1b`, `\\u202e`). JSON escapes them by its own rules. In CSV a text cell that a
spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab or carriage
return) starts with `'` (OWASP, "CSV Injection"); `raw=True` (`report --raw-csv`) writes
every cell exactly as stored instead, for programs that read the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from deskmetrics.table_widths import ColumnNeeds, column_widths
from scoring import REPORT_COLUMNS, ReportRow
from warehouse.quarantine import QuarantineEntry

FORMATS = ("table", "csv", "json")
QUARANTINE_FORMATS = ("table", "json")

_BIDI_AND_SEPARATORS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
    **{c: f"\\u{c:04x}" for c in (*_BIDI_AND_SEPARATORS, 0x2028, 0x2029)},
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Columns that hold source text; the others are figures or deskmetrics' own words.
TEXT_COLUMNS = frozenset({"source", "agent_id", "agent_name", "agent_email"})


def visible(text: str) -> str:
    """`text` with every control, bidirectional or line-separator character escaped."""
    return text.translate(_ESCAPES)


def spreadsheet_safe(text: str) -> str:
    """A CSV cell of source text: controls escaped, a would-be formula quoted with `'`."""
    shown = visible(text)
    return f"'{shown}" if text.startswith(FORMULA_STARTS) else shown


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def csv_row(
    columns: Sequence[str], cells: Sequence[str], text_columns: frozenset[str], raw: bool
) -> list[str]:
    """One CSV row of formatted cells: a cell of source text (`text_columns`) made safe to
    open in a spreadsheet, every other cell with controls escaped; all as is when `raw`."""
    if raw:
        return list(cells)
    return [
        spreadsheet_safe(cell) if column in text_columns else visible(cell)
        for column, cell in zip(columns, cells, strict=True)
    ]


def report_csv_cells(row: ReportRow) -> list[str]:
    """A report row's cells as `as_csv` writes them (empty for no value, one decimal)."""
    return [_cell(value) for value in astuple(row)]


def as_csv(rows: Sequence[ReportRow], raw: bool = False) -> str:
    """The report as CSV; text cells made safe to open unless `raw`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow(csv_row(REPORT_COLUMNS, report_csv_cells(row), TEXT_COLUMNS, raw))
    return buffer.getvalue()


def _json(value: Any) -> str:
    # ensure_ascii: every character outside printable ASCII (controls, DEL, C1, bidi marks)
    # is written as a \uXXXX escape, so JSON is safe to look at as it is.
    return json.dumps(value, indent=2, ensure_ascii=True)


def as_json(rows: Sequence[ReportRow]) -> str:
    return _json([dict(zip(REPORT_COLUMNS, astuple(row), strict=True)) for row in rows])


def _text(value: str) -> Text:
    """A table cell shown exactly as written: no markup, no emoji codes, no controls."""
    return Text(visible(value))


# The report table fits a terminal this wide; --wide adds intervals and takes the console's.
COMPACT_WIDTH = 100
NAME_WIDTH = 30  # a longer name or source wraps within its cell
# Two spaces between columns, one at each edge. (Rich's collapse_padding gives a fixed-width
# column a character less than its width.)
TABLE_SPACING: dict[str, Any] = {"padding": (0, 0, 0, 1), "pad_edge": False}
# The narrowest a name column gets in a narrow terminal (a longer name wraps within it).
NAME_NARROWEST = {"source": 10, "agent": 12}
WIDEST = 10_000  # a measure of the wide table's natural width, with no limit that matters
UNASSIGNED_LABEL = "(unassigned)"  # the table's agent cell of the unassigned row
LOW_SAMPLE_MARK = "*"


def _of(pct: float | None, sample: int, flagged: bool) -> str:
    """A rate with its sample size, `12.5% of 40`; empty with a zero denominator
    (docs/metrics.md "Confidence"), marked when the sample is below `report.min_sample`."""
    if pct is None:
        return ""
    return f"{pct:.1f}% of {sample}{LOW_SAMPLE_MARK if flagged else ''}"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"{low:.1f}-{high:.1f}"


def agent_label(row: ReportRow) -> str:
    """Who a row is, for people: the name, else the id, else `(unassigned)`."""
    return row.agent_name or row.agent_id or UNASSIGNED_LABEL


def print_table(
    rows: Sequence[ReportRow],
    console: Console,
    title: str | Sequence[str],
    wide: bool = False,
    min_sample: int | None = None,
    notes: Sequence[str] = (),
) -> None:
    """The report for people: `title` (one line or several: period, time zone, database),
    the source, and `notes` (per source how far it is read and which days are
    provisional) above a table of each rate with its sample size. The compact table is at most
    COMPACT_WIDTH columns wide, and no wider than the console: long names wrap first, then,
    in a narrow terminal, a figure breaks at its spaces (`12.5% of` over `40`); a figure is
    never cut. `wide` adds the counts, the 95 % intervals and a low-sample column, a row a
    line, however narrow the console (a terminal wraps or `less -S` scrolls it). Every
    column is in CSV and JSON."""
    heading = [title] if isinstance(title, str) else list(title)
    sources = sorted({r.source for r in rows})
    by_source = wide or len(sources) > 1
    if not by_source and sources:
        heading.append(f"source: {sources[0]}")
    heading.extend(notes)
    target = console.width if wide else min(console.width, COMPACT_WIDTH)
    for line in heading:
        # A long database path folds onto a second line rather than widening the output.
        console.print(_text(line), highlight=False, width=target, overflow="fold")
    headers = ["handled", "transfer", "FCR", "CSAT", "CSAT\nmean"]
    if wide:
        headers = ["handled", "transfer", "95 % CI", "resolved", "FCR", "95 % CI", "CSAT",
                   "95 % CI", "CSAT\nmean", "low sample"]  # fmt: skip
    figures = [_figure_cells(r, wide) for r in rows]
    names = [[visible(r.source) for r in rows]] if by_source else []
    names.append([visible(agent_label(r)) for r in rows])
    name_headers = ["source", "agent"][-len(names) :]
    name_needs = [
        _name_needs(header, cells) for header, cells in zip(name_headers, names, strict=True)
    ]
    figure_needs = [
        ColumnNeeds(_natural(header, cells), _narrowest(header, cells))
        for header, cells in zip(headers, _columns(figures, len(headers)), strict=True)
    ]
    borders = _borders(console, len(name_needs) + len(figure_needs))
    widths = column_widths(name_needs, figure_needs, (WIDEST if wide else target) - borders)
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, **TABLE_SPACING)
    for header, width in zip([*name_headers, *headers], widths, strict=True):
        justify: JustifyMethod = "left" if header in (*name_headers, "low sample") else "right"
        table.add_column(header, justify=justify, overflow="fold", width=width)
    for r, cells in zip(rows, figures, strict=True):
        shown_names = [_text(r.source)] if by_source else []
        table.add_row(*shown_names, _text(agent_label(r)), *cells)
    table.caption = (
        f"x% of n: n = handled, FCR-eligible, CSAT responses; {LOW_SAMPLE_MARK} n below "
        + (f"{min_sample} (report.min_sample)" if min_sample is not None else "report.min_sample")
        + ("" if wide else "; --wide adds 95 % intervals")
    )
    needed = sum(widths) + borders
    if needed <= console.width:
        console.print(table, width=max(needed, target))
        return
    # Console.print never prints wider than its console: this one is as wide as the table
    # (the wide table, or the narrowest that cuts nothing).
    Console(
        file=console.file,
        width=needed,
        force_terminal=console.is_terminal,
        color_system=console.color_system,  # type: ignore[arg-type]
        emoji=False,
        highlight=False,
    ).print(table)


def _columns(rows: Sequence[Sequence[str]], count: int) -> list[list[str]]:
    return [[row[i] for row in rows] for i in range(count)]


def _name_needs(header: str, cells: Sequence[str]) -> ColumnNeeds:
    """A name column: on one line up to NAME_WIDTH, wrapping down to NAME_NARROWEST."""
    natural = min(_natural(header, cells), NAME_WIDTH)
    return ColumnNeeds(natural, min(natural, NAME_NARROWEST[header]))


def _natural(header: str, cells: Sequence[str]) -> int:
    """The width that keeps a column's header lines and cells each on one line."""
    return max(cell_len(text) for text in [*header.split("\n"), *cells])


def _narrowest(header: str, cells: Sequence[str]) -> int:
    """A figure column's longest word: it breaks at its spaces, never within a word."""
    return max(cell_len(word) for text in [header, *cells] for word in text.split() or [""])


def _borders(console: Console, columns: int) -> int:
    """What the table's box and padding add to its columns' widths (measured, not assumed)."""
    probe = Table(box=box.SIMPLE_HEAD, **TABLE_SPACING)
    for _ in range(columns):
        probe.add_column(width=1)
    return Measurement.get(console, console.options.update_width(WIDEST), probe).minimum - columns


def _figure_cells(r: ReportRow, wide: bool) -> list[str]:
    """A row's figures as the table shows them (`print_table`'s headers, in order)."""
    low = set(r.low_sample.split())
    transfer = _of(r.transfer_pct, r.handled, "transfer" in low)
    fcr = _of(r.fcr_pct, r.fcr_eligible, "fcr" in low)
    csat = _of(r.csat_pct, r.csat_responses, "csat" in low)
    if not wide:
        return [str(r.handled), transfer, fcr, csat, _cell(r.csat_mean_pct)]
    return [
        str(r.handled), transfer, _interval(r.transfer_ci_low, r.transfer_ci_high),
        str(r.resolved), fcr, _interval(r.fcr_ci_low, r.fcr_ci_high),
        csat, _interval(r.csat_ci_low, r.csat_ci_high), _cell(r.csat_mean_pct),
        visible(r.low_sample),
    ]  # fmt: skip


def print_quarantine(entries: Sequence[QuarantineEntry], console: Console) -> None:
    """Quarantined records, one a line, without the records themselves (`--show ID`)."""
    table = Table(header_style="bold", caption="deskmetrics quarantine --show ID prints one")
    for header in ("source", "stream", "record id", "first seen (UTC)", "last seen", "error"):
        table.add_column(header, overflow="fold")
    for e in entries:
        table.add_row(
            _text(e.source),
            _text(e.stream),
            _text(e.record_id),
            f"{e.first_seen_at:%Y-%m-%d %H:%M}",
            f"{e.last_seen_at:%Y-%m-%d %H:%M}",
            _text(e.error),
        )
    console.print(table)


def quarantine_as_json(entries: Sequence[QuarantineEntry]) -> str:
    return _json(
        [
            {
                "source": e.source,
                "stream": e.stream,
                "record_id": e.record_id,
                "error": e.error,
                "first_seen_at": e.first_seen_at.isoformat(),
                "last_seen_at": e.last_seen_at.isoformat(),
            }
            for e in entries
        ]
    )


def quarantined_record(entry: QuarantineEntry) -> str:
    """The record as received: indented JSON, or its text escaped if it was cut short."""
    try:
        return _json(json.loads(entry.record or "null"))
    except ValueError:
        return visible(entry.record or "")
