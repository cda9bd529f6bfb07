"""`deskmetrics export`: facts, the report or ratings as a CSV or Parquet file for BI tools,
and `fresh_report`, the report rows that `report` and `export` both print.

    facts    additive counts per source, agent and local day over [since, until)
             (agent_day_facts with the agent's name and e-mail)
    report   the rows of `deskmetrics report` over [since, until): same columns, same order
    ratings  satisfaction answers first given on a local day in [since, until), with
             comments and the agent each response belongs to; those of deleted
             interactions are left out (docs/metrics.md "Left out")

The unassigned row is one way everywhere: empty agent_id, agent_name and agent_email (an
empty CSV cell, a JSON or Parquet null). CSV cells of agent or customer text are made safe
to open in a spreadsheet unless `raw` (deskmetrics/output.py); Parquet keeps types (dates,
UTC timestamps, integers, floats) and needs pyarrow, the optional extra
`deskmetrics[parquet]`. A file is written beside its path and moved into place when
complete, so a BI tool never reads half of one. Every file says what it is
(deskmetrics/provenance.py): the period, time zone, `report.min_sample` and each source's
high-water mark and provisional days, as Parquet key-value metadata under `deskmetrics`
or, beside a CSV file, in `<file>.meta.json`.
"""

from __future__ import annotations

import csv
import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.exc import DBAPIError

from deskmetrics import pipeline
from deskmetrics.files import checked_target, written_into_place, written_text
from deskmetrics.output import TEXT_COLUMNS, csv_row, report_csv_cells
from deskmetrics.provenance import META_KEY, FileMeta, file_meta, sidecar_of
from deskmetrics.settings import Settings
from interactions import InputError
from scoring import REPORT_COLUMNS, ReportRow, response_agents
from warehouse.access import is_read_only
from warehouse.facts import histories
from warehouse.schema import FACT_COUNTS, agent_day_facts, agents, dirty_days, interactions, ratings

log = logging.getLogger(__name__)

WHAT = ("facts", "report", "ratings")
FORMATS = ("csv", "parquet")
BATCH = 10_000  # rows read and written at a time: memory does not grow with the export

# Column kinds: how a value is written to CSV and typed in Parquet.
TEXT, INT, FLOAT, DAY, MOMENT = "text", "int", "float", "date", "timestamp"


@dataclass(frozen=True)
class FreshReport:
    rows: list[ReportRow]
    warning: str | None  # set when dirty days could not be rescored (read-only database)
    meta: FileMeta  # what the report is of, per source how far it is read


def fresh_report(
    engine: Engine,
    settings: Settings,
    since: date,
    until: date,
    source: str | None = None,
    by: str = "agent",
) -> FreshReport:
    """The report after rescoring dirty days; on a read-only database the figures as last
    scored, with a warning. Every other failure is raised as it is."""
    try:
        rows = pipeline.report(engine, settings, since, until, source, by)
        return FreshReport(
            rows, None, _report_meta(engine, settings, since, until, source, by, rows)
        )
    except DBAPIError as refused:
        # pipeline.report checks its arguments first and then scores, the only step that
        # writes: a read-only refusal comes from there, and the facts can still be read.
        if not is_read_only(refused):
            raise
    rows = pipeline.report(engine, settings, since, until, source, by, rescore=False)
    return FreshReport(
        rows, _not_rescored(engine), _report_meta(engine, settings, since, until, source, by, rows)
    )


def _scored_first(engine: Engine, settings: Settings) -> str | None:
    """Score the dirty days (and a change of the scoring settings, such as `timezone`)
    before stored facts or ratings are read, as a report does; on a read-only database,
    the warning that they are the figures as last scored."""
    try:
        pipeline.score_when_free(engine, settings)
        return None
    except DBAPIError as refused:
        if not is_read_only(refused):
            raise
    return _not_rescored(engine)


def _not_rescored(engine: Engine) -> str:
    with engine.connect() as conn:
        backlog = int(conn.execute(select(func.count()).select_from(dirty_days)).scalar() or 0)
    return (
        f"the database is read-only, so nothing was rescored first: {backlog} days waiting "
        "to be scored (and any change to the scoring settings) are not in these figures. "
        "Run `deskmetrics score` where the database can be written."
    )


def _report_meta(
    engine: Engine,
    settings: Settings,
    since: date,
    until: date,
    source: str | None,
    by: str,
    rows: Sequence[ReportRow],
) -> FileMeta:
    shown = sorted({part for row in rows for part in row.source.split("+")})
    return file_meta(engine, settings, "report", since, until, source, by, shown)


@dataclass(frozen=True)
class Exported:
    rows: int
    warning: str | None
    meta: FileMeta  # written into a Parquet file, beside a CSV file (`<out>.meta.json`)


Columns = Sequence[tuple[str, str]]


def _report_kind(column: str) -> str:
    if column in TEXT_COLUMNS or column == "low_sample":
        return TEXT
    return FLOAT if column.endswith(("_pct", "_ci_low", "_ci_high")) else INT


REPORT_KINDS: Columns = tuple((name, _report_kind(name)) for name in REPORT_COLUMNS)
FACT_COLUMNS: Columns = (
    ("source", TEXT),
    ("agent_id", TEXT),
    ("agent_name", TEXT),
    ("agent_email", TEXT),
    ("day", DAY),
    *((name, INT) for name in FACT_COUNTS),
    ("csat_score_sum", FLOAT),
)
RATING_COLUMNS: Columns = (
    ("source", TEXT),
    ("rating_id", TEXT),
    ("interaction_id", TEXT),
    ("survey_id", TEXT),
    ("agent_id", TEXT),
    ("response_agent_id", TEXT),
    ("score", TEXT),
    ("comment", TEXT),
    ("created_at", MOMENT),
    ("updated_at", MOMENT),
    ("scale_max", FLOAT),
    ("category", TEXT),
)


def export(
    engine: Engine,
    settings: Settings,
    what: str,
    fmt: str,
    out: Path | TextIO,
    since: date | None,
    until: date | None,
    source: str | None = None,
    by: str = "agent",
    raw: bool = False,
) -> Exported:
    """Write `what` as `fmt` to the file `out` (or, for CSV, a text stream)."""
    if fmt == "parquet" and not isinstance(out, Path):
        raise InputError("--format parquet writes a file: give --out PATH, not -.")
    write = _parquet_writer() if fmt == "parquet" else None  # fails early without pyarrow
    if since is not None and until is not None and until <= since:
        raise InputError(f"--until {until} is not after --since {since}; the period is empty.")
    warning = None
    csv_cells: Callable[[tuple[Any, ...]], list[str]] = _cells
    if what == "report":
        if since is None or until is None:
            raise InputError("--what report needs --since and --until (a report is of a period).")
        found = fresh_report(engine, settings, since, until, source, by)
        warning, meta = found.warning, found.meta
        columns, batches = REPORT_KINDS, iter([[astuple(row) for row in found.rows]])
        csv_cells = _report_cells
    elif what in ("facts", "ratings"):
        pipeline.check_source_known(engine, settings, source)
        # Facts are what a score wrote (ratings are read as stored): scored first.
        warning = _scored_first(engine, settings) if what == "facts" else None
        meta = file_meta(engine, settings, what, since, until, source)
        if what == "facts":
            columns, batches = FACT_COLUMNS, _batches(engine, _facts(since, until, source))
        else:
            query = _ratings(since, until, source, settings.timezone)
            stored = _batches(engine, query)
            columns, batches = RATING_COLUMNS, _with_response_agents(engine, settings, stored)
    else:
        raise InputError(f"cannot export {what!r}: choose one of {', '.join(WHAT)}.")
    if write is not None:
        assert isinstance(out, Path)
        count = written_into_place(out, "--out", lambda path: write(path, columns, batches, meta))
    elif isinstance(out, Path):
        # The sidecar's path is checked first: a failed export leaves the old file whole.
        checked_target(out, "--out")
        checked_target(sidecar_of(out), "the metadata file")
        count = written_into_place(
            out, "--out", lambda path: _write_csv_file(path, columns, batches, csv_cells, raw)
        )
        written_text(sidecar_of(out), "the metadata file", meta.as_json() + "\n")
    else:
        count = _write_csv(out, columns, batches, csv_cells, raw)
    return Exported(count, warning, meta)


def _facts(since: date | None, until: date | None, source: str | None) -> Any:
    f = agent_day_facts.c
    query = (
        select(
            f.source,
            f.agent_id,
            agents.c.name,
            agents.c.email,
            f.day,
            *(f[name] for name in FACT_COUNTS),
            f.csat_score_sum,
        )
        .select_from(
            agent_day_facts.outerjoin(
                agents, (agents.c.source == f.source) & (agents.c.agent_id == f.agent_id)
            )
        )
        .order_by(f.source, f.day, f.agent_id)
    )
    if since is not None:
        query = query.where(f.day >= since)
    if until is not None:
        query = query.where(f.day < until)
    return query.where(f.source == source) if source is not None else query


def _ratings(since: date | None, until: date | None, source: str | None, timezone: str) -> Any:
    r = ratings.c
    zone = ZoneInfo(timezone)
    query = (
        select(*(r[name] for name, _ in RATING_COLUMNS if name != "response_agent_id"))
        .select_from(
            ratings.outerjoin(
                interactions,
                (interactions.c.source == r.source)
                & (interactions.c.interaction_id == r.interaction_id),
            )
        )
        .where(or_(interactions.c.deleted.is_(None), interactions.c.deleted.is_(False)))
        .order_by(r.source, r.created_at, r.rating_id)
    )
    if since is not None:
        query = query.where(r.created_at >= datetime.combine(since, time(), zone))
    if until is not None:
        query = query.where(r.created_at < datetime.combine(until, time(), zone))
    return query.where(r.source == source) if source is not None else query


def _with_response_agents(
    engine: Engine, settings: Settings, batches: Iterator[list[tuple[Any, ...]]]
) -> Iterator[list[tuple[Any, ...]]]:
    """Rating rows with the agent their survey's response belongs to (docs/metrics.md "CSAT":
    the recorded agent, else the owner at the answer or the resolver), after `agent_id`,
    the agent recorded on the record itself (none on Salesforce or on survey responses)."""
    scoring = settings.scoring()
    where = [name for name, _ in RATING_COLUMNS].index("response_agent_id")
    for batch in batches:
        by_source: dict[str, set[str]] = {}
        for row in batch:
            by_source.setdefault(row[0], set()).add(row[2])
        agents_of: dict[tuple[str, str, str], str | None] = {}
        with engine.connect() as conn:
            for source, ids in by_source.items():
                for history in histories(conn, source, ids):
                    interaction = history.interaction.interaction_id
                    for survey, agent in response_agents(history, scoring).items():
                        agents_of[(source, interaction, survey)] = agent
        yield [
            (*row[:where], agents_of.get((row[0], row[2], row[3])), *row[where:]) for row in batch
        ]


def _batches(engine: Engine, query: Any) -> Iterator[list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(query)
        for rows in result.partitions(BATCH):
            # agent_day_facts keeps the unassigned row under "" (a key cannot be NULL).
            yield [(row[0], row[1] or None, *row[2:]) for row in rows]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # floats in full: a sum of scores is not rounded for BI


def _cells(values: tuple[Any, ...]) -> list[str]:
    return [_cell(value) for value in values]


def _report_cells(values: tuple[Any, ...]) -> list[str]:
    # Exactly the cells of `report --format csv`.
    return report_csv_cells(ReportRow(*values))


def _write_csv(
    stream: TextIO,
    columns: Columns,
    batches: Iterator[list[tuple[Any, ...]]],
    cells: Callable[[tuple[Any, ...]], list[str]],
    raw: bool,
) -> int:
    names = [name for name, _ in columns]
    text = frozenset(name for name, kind in columns if kind == TEXT)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    count = 0
    for batch in batches:
        writer.writerows(csv_row(names, cells(values), text, raw) for values in batch)
        count += len(batch)
    return count


def _write_csv_file(
    path: Path,
    columns: Columns,
    batches: Iterator[list[tuple[Any, ...]]],
    cells: Callable[[tuple[Any, ...]], list[str]],
    raw: bool,
) -> int:
    with path.open("w", encoding="utf-8", newline="") as stream:
        return _write_csv(stream, columns, batches, cells, raw)


ParquetWrite = Callable[[Path, Columns, Iterator[list[tuple[Any, ...]]], FileMeta], int]


def _parquet_writer() -> ParquetWrite:
    """The Parquet writer, or an error naming the extra when pyarrow is not installed."""
    try:
        # Imported by name: an optional dependency, typed as Any.
        pa: Any = importlib.import_module("pyarrow")
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise InputError(
            "--format parquet needs pyarrow, which is not installed: "
            "pip install 'deskmetrics[parquet]' (or use --format csv)."
        ) from None
    types = {
        TEXT: pa.string(),
        INT: pa.int64(),
        FLOAT: pa.float64(),
        DAY: pa.date32(),
        MOMENT: pa.timestamp("us", tz="UTC"),
    }

    def write(
        path: Path, columns: Columns, batches: Iterator[list[tuple[Any, ...]]], meta: FileMeta
    ) -> int:
        schema = pa.schema(
            [(name, types[kind]) for name, kind in columns],
            metadata={META_KEY: meta.as_json()},
        )
        count = 0
        with pq.ParquetWriter(str(path), schema) as writer:
            for batch in batches:
                data = {name: [row[i] for row in batch] for i, (name, _) in enumerate(columns)}
                writer.write_table(pa.Table.from_pydict(data, schema=schema))
                count += len(batch)
        return count

    return write
