"""`deskmetrics` command line: parses arguments, calls the pipeline, prints. Nothing else.

Expected failures (`DeskmetricsError`) print `Error: …` and exit 1; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource
from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from deskmetrics import pipeline
from deskmetrics.check import run_checks
from deskmetrics.console import err, log_to, out, progress_bars, say
from deskmetrics.explain import LedgerMismatch
from deskmetrics.explain import explain as explain_row
from deskmetrics.explain_view import as_csv as explain_csv
from deskmetrics.explain_view import as_json as explain_json
from deskmetrics.explain_view import print_explanation, summary
from deskmetrics.export import FORMATS as EXPORT_FORMATS
from deskmetrics.export import WHAT as EXPORT_WHAT
from deskmetrics.export import export as write_export
from deskmetrics.export import fresh_report
from deskmetrics.files import written_text
from deskmetrics.output import (
    FORMATS,
    QUARANTINE_FORMATS,
    as_csv,
    as_json,
    print_quarantine,
    print_table,
    quarantine_as_json,
    quarantined_record,
    visible,
)
from deskmetrics.page import DEFAULT_WEEKS
from deskmetrics.provenance import SIDECAR_SUFFIX, FileMeta
from deskmetrics.reconcile import reconcile as reconcile_counts
from deskmetrics.settings import Settings, load_settings
from deskmetrics.status import read_status
from deskmetrics.status_view import lines_of, status_json
from interactions import DeskmetricsError, InputError, WarehouseError
from warehouse.access import database_failure, is_read_only, shown_url
from warehouse.leases import LeaseWaitStopped
from warehouse.schema import open_engine
from warehouse.views import DEFAULT_MIN_SAMPLE

log = logging.getLogger("deskmetrics")

PAGE_FORMAT = "html"  # report --format html: the manager's page


def _fail(message: str, code: int = 1) -> NoReturn:
    # A message may quote what a server sent: markup and control characters shown, not run.
    err.print(f"[bold red]Error:[/] {escape(visible(message))}", highlight=False, soft_wrap=True)
    sys.exit(code)


MAX_SCORE_DAYS = 36_500  # `score --since/--until`: a day is a mark each; --all has no limit

# Where `_setup` leaves the database's shown URL, for an error the database raises later.
DATABASE_SHOWN = "deskmetrics.database"


def _usage_error(wrong: click.UsageError, for_status: bool) -> NoReturn:
    # A wrong option is an error like any other for the scripts and monitors that read exit
    # codes (docs/operations.md "Exit codes"): click's own would be 2, which `status` uses
    # for "failing"; for `status` it is 3, settings unreadable.
    hint = f" (see {wrong.ctx.command_path} --help)" if wrong.ctx else ""
    _fail(wrong.format_message() + hint, 3 if for_status else 1)


class _Group(click.Group):
    """Turns expected errors into `Error: …` and exit 1 at the edge, and only there: the
    database's refusals (read-only, full, gone, unreachable) included."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The options before the command (`deskmetrics --config x status`) are read here,
        # outside `invoke`: a wrong one is refused the same way.
        try:
            return super().make_context(info_name, list(args), parent, **extra)
        except click.exceptions.NoArgsIsHelpError as bare:
            click.echo(bare.ctx.get_help() if bare.ctx else "")
            sys.exit(0)  # `deskmetrics` alone asks what there is: the help is the answer
        except click.UsageError as wrong:
            if isinstance(wrong, click.NoSuchOption) and wrong.option_name == "--config":
                wrong = click.UsageError(
                    "--config goes after the command, e.g. deskmetrics sync --config FILE",
                    wrong.ctx,
                )
            _usage_error(wrong, "status" in args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as wrong:
            _usage_error(wrong, ctx.invoked_subcommand == "status")
        except DeskmetricsError as failed:
            _fail(str(failed))
        except DBAPIError as refused:
            failure = database_failure(refused, ctx.meta.get(DATABASE_SHOWN, "database.url"))
            if failure is None:
                raise  # not a refusal: a bug, with its traceback
            _fail(str(failure))


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (default: ./settings.toml).",
)


def by_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--by agent|person`, the rows of a report (docs/metrics.md "People across sources")."""
    return click.option(
        "--by",
        type=click.Choice(["agent", "person"]),
        default="agent",
        show_default=True,
        help=help_text,
    )


def _given(parameter: str) -> bool:
    """Whether the command line gave `parameter`: an option given where it does nothing is
    refused, never ignored."""
    given = click.get_current_context().get_parameter_source(parameter)
    return given not in (None, ParameterSource.DEFAULT)


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{flag} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01."
        ) from None


def _setup(
    config_path: Path | None, reading: Callable[[Settings], list[str]] | None = None
) -> tuple[Settings, Any]:
    """The settings and the warehouse they name (a relative SQLite path is relative to the
    settings file's folder, whatever folder the command runs in).

    `reading` names the sources the command reads: their settings and secrets are checked
    first, so that a missing token stops the command before a database is created."""
    settings = load_settings(config_path)
    if reading is not None:
        pipeline.check_sources(settings, reading(settings))
    # The views flag low samples by the settings' threshold (warehouse/views.py).
    engine = open_engine(settings.database_url(), min_sample=settings.report.min_sample)
    click.get_current_context().meta[DATABASE_SHOWN] = _shown(engine)
    log.debug("database: %s", _shown(engine))
    return settings, engine


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail (never secrets).")
@click.version_option(package_name="deskmetrics")
def main(verbose: bool) -> None:
    """Transfer rate, first-contact resolution and CSAT per agent, from Zendesk and
    Salesforce Service Cloud into SQL.

    Pull with `sync` (scheduled) or `backfill` (a window), then read `report` or point a
    BI tool at the database. What each figure means and how it is counted, with a worked
    example: docs/metrics.md in the deskmetrics repository.

    Every command but `demo` reads ./settings.toml, or the file --config names; a relative
    SQLite path in its database.url is relative to that file's folder. Try it without an
    account:

        deskmetrics demo
    """
    # Through the console the progress bars are drawn on (stderr), so a log line never
    # breaks into a bar.
    log_to(err, logging.DEBUG if verbose else logging.INFO)
    # zenpy's debug lines hold whole API pages (subjects, descriptions, e-mails), which
    # deskmetrics deliberately never keeps: not even -v shows them. urllib3's debug lines
    # are method, path and status only, worth seeing with -v.
    logging.getLogger("zenpy").setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        # alembic logs every plugin it sets up at INFO on each new database: not news.
        for noisy in ("urllib3", "requests", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command()
@config_option
@click.option("--source", default=None, help="Only this source (a [sources.NAME] of settings).")
def sync(config_path: Path | None, source: str | None) -> None:
    """One incremental pass of every enabled source, then score what changed.

    SIGTERM or Ctrl-C stops it after the page in hand, as does a source's
    max_allowance_share: it says so and exits 75; run it again to go on. Example:

        deskmetrics sync --config /etc/deskmetrics/settings.toml
    """
    settings, engine = _setup(config_path, lambda found: found.sources_to_read(source))
    with progress_bars() as progress, _stop_on_signals() as stop, _interrupted("sync"):
        results = pipeline.sync(engine, settings, source, progress=progress, stop=stop)
    for result in results:
        read = ", ".join(f"{s.stream} {s.records}" for s in result.streams)
        say(out, f"{result.source}: read {read}{result.set_aside()}; {result.usage.summary()}")
    _exit_if_stopped("sync", results, stop)


@main.command()
@config_option
@click.option("--source", required=True, help="The source to backfill, e.g. zendesk.")
@click.option("--since", "since_text", required=True, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", default=None, help="Last day, YYYY-MM-DD (exclusive).")
def backfill(
    config_path: Path | None, source: str, since_text: str, until_text: str | None
) -> None:
    """Read a window of history with cursors of its own; rerun to resume.

    It never moves the scheduled sync's cursors. SIGTERM or Ctrl-C stops it after the page
    in hand, as does a source's max_allowance_share: it says so and exits 75. Example:

        deskmetrics backfill --source zendesk --since 2026-01-01 --until 2026-07-01
    """
    since = _day(since_text, "--since")
    until = _day(until_text, "--until") if until_text else None
    settings, engine = _setup(config_path, lambda found: found.enabled_sources(source))
    with progress_bars() as progress, _stop_on_signals() as stop, _interrupted("backfill"):
        result = pipeline.backfill(engine, settings, source, since, until, progress, stop=stop)
    read = ", ".join(f"{s.stream} {s.records}" for s in result.streams)
    done = "stopped early after reading" if result.stopped else "backfilled"
    say(out, f"{source}: {done} {read}{result.set_aside()}; {result.usage.summary()}")
    _exit_if_stopped("backfill", [result], stop)


# sysexits.h EX_TEMPFAIL: the command stopped early and a rerun goes on from where it
# stopped (docs/operations.md "Exit codes").
STOPPED_EARLY = 75


class _StopRequest(threading.Event):
    """Set by SIGTERM or a first Ctrl-C; `by` names which."""

    by = ""


@contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """SIGTERM (systemd, `timeout`, `docker stop`) or Ctrl-C lets the page in hand commit,
    then the command ends, saying so; the next run goes on from there. A second Ctrl-C
    interrupts at once (`_interrupted`)."""
    stop = _StopRequest()

    def handle(number: int, frame: object) -> None:
        if stop.is_set() and number == signal.SIGINT:
            raise KeyboardInterrupt
        stop.by = "Ctrl-C" if number == signal.SIGINT else signal.Signals(number).name
        log.info("%s: stopping after the page in hand (Ctrl-C again: at once)", stop.by)
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _interrupted(command: str) -> Iterator[None]:
    """A second Ctrl-C: the page in hand is dropped (its cursor stands), and the command
    says so and exits `STOPPED_EARLY` instead of click's bare "Aborted!". A stop while
    waiting for a source's lease ends the command the same way: stopped, not failed."""
    try:
        yield
    except KeyboardInterrupt:
        _say_stopped(command, "interrupted by Ctrl-C; the page in hand was not stored")
    except LeaseWaitStopped as waiting:
        _say_stopped(command, f"stopped while waiting: {waiting.held_by}")


def _exit_if_stopped(command: str, results: list[Any], stop: _StopRequest) -> None:
    reasons = [f"{r.source}: {r.stopped_by}" for r in results if r.stopped and r.stopped_by]
    if stop.is_set():
        reasons = [f"stopped by {stop.by}"]
    if reasons:
        _say_stopped(command, "; ".join(dict.fromkeys(reasons)))


def _say_stopped(command: str, why: str) -> NoReturn:
    say(
        out,
        f"{command} stopped early ({why}): what it read is stored with its cursors; run the "
        "same command again to go on from there.",
    )
    sys.exit(STOPPED_EARLY)


@main.command()
@config_option
def run(config_path: Path | None) -> None:
    """Keep every enabled source synced on its schedule, in the foreground, until stopped.

    Per source a sync job (the source's sync_interval_minutes or sync_cron, else those of
    [schedule]) that scores the days it changed, and a nightly rescore of the trailing
    [schedule] rescore_days. A run never overlaps another of its source, here or in any
    other process (a lease in the database): workers on several machines that share one
    PostgreSQL split the sources between them. SIGTERM or Ctrl-C ends each run after the
    page in hand and exits 0. Logs go to stderr, one summary line per run. Example:

        deskmetrics run --config /etc/deskmetrics/settings.toml
    """
    from deskmetrics.scheduler import run_scheduler

    settings, engine = _setup(config_path, lambda found: found.sources_to_read())
    run_scheduler(engine, settings)


@main.command()
@config_option
@click.option("--all", "everything", is_flag=True, help="Recompute every day, not just dirty ones.")
@click.option("--since", "since_text", default=None, help="Also recompute from this day.")
@click.option("--until", "until_text", default=None, help="…up to this day (exclusive).")
def score(
    config_path: Path | None, everything: bool, since_text: str | None, until_text: str | None
) -> None:
    """Recompute per-agent-per-day facts of the days that changed since the last score.

    Example: deskmetrics score --all
    """
    days = None
    if everything and since_text:
        raise InputError("--all recomputes every day: give --all, or --since (and --until).")
    if until_text and not since_text:
        raise InputError("--until needs --since: score the days from --since up to --until.")
    if since_text:
        since = _day(since_text, "--since")
        until = _day(until_text, "--until") if until_text else date.today() + timedelta(days=1)
        if not since < until:
            raise InputError(f"--until {until} is not after --since {since}; swap or fix them.")
        if (until - since).days > MAX_SCORE_DAYS:
            raise InputError(
                f"--since {since} --until {until} is {(until - since).days:,} days: score at "
                f"most {MAX_SCORE_DAYS:,} at once (a century), or use --all for every day "
                "that holds data."
            )
        days = [since + timedelta(days=n) for n in range((until - since).days)]
    settings, engine = _setup(config_path)
    try:
        written = pipeline.score(engine, settings, everything=everything, days=days)
    except DBAPIError as refused:
        if not is_read_only(refused):
            raise
        raise WarehouseError(
            f"{_shown(engine)} is read-only: score writes the facts it computes. Run it "
            "where the database can be written (`deskmetrics check` tests that)."
        ) from None
    say(out, f"scored: {written} agent-day rows written to {_shown(engine)}")


@main.command()
@config_option
@click.option("--since", "since_text", required=True, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", required=True, help="Last day, YYYY-MM-DD (exclusive).")
@click.option("--source", default=None, help="Only this source.")
@by_option("One row per source agent, or per person across sources (same e-mail).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, PAGE_FORMAT)),
    default="table",
    show_default=True,
    help="html: the manager's page, one self-contained file (--out).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --format html: the file to write, e.g. oct.html.",
)
@click.option(
    "--weeks",
    type=int,
    default=DEFAULT_WEEKS,
    show_default=True,
    help="With --format html: the trailing weeks of the weekly trends (from the first "
    "with any figure).",
)
@click.option(
    "--raw-csv",
    is_flag=True,
    help="With --format csv: write names and ids exactly as stored, for programs. By "
    "default a cell a spreadsheet would run as a formula (=, +, -, @ first) starts with ' "
    "and control characters are shown escaped.",
)
@click.option(
    "--wide",
    is_flag=True,
    help="The table with counts, 95 % intervals and a low-sample column, a row a line "
    "(about 140 columns, whatever the terminal's width); by default the table fits the "
    "terminal, at most 100 columns.",
)
@click.option(
    "--meta",
    "meta_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --format csv or json: also write what the report is of (period, time "
    "zone, min_sample, per source its high-water mark and provisional days) to this "
    "JSON file, e.g. oct.csv.meta.json.",
)
def report(
    config_path: Path | None,
    since_text: str,
    until_text: str,
    source: str | None,
    by: str,
    fmt: str,
    raw_csv: bool,
    wide: bool,
    meta_path: Path | None,
    out_path: Path | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> None:
    """Per-agent transfer %, FCR % and CSAT % over [since, until), each with its sample.

    Days are calendar days in the configured time zone. The table shows each rate with its
    sample size (`12.5% of 40`) and fits the terminal (at most 100 columns; in a narrow one
    names wrap, then figures break at their spaces); --wide adds the 95 % intervals, and
    CSV and JSON hold every column. The unassigned row is `(unassigned)` in the table and
    has empty agent_id, agent_name and agent_email in CSV (null in JSON). On a read-only
    database it reports the figures as last scored, with a warning. Names and e-mails are
    shown as data: never as markup or terminal control codes. Example:

        deskmetrics report --since 2026-10-01 --until 2026-11-01 --format csv > oct.csv

    --format html --out FILE writes the manager's page: funnel plots, weekly trends, the
    change against the previous period with its test, and low-score comments
    (docs/metrics.md "Comparing agents and periods").
    """
    if fmt == PAGE_FORMAT and out_path is None:
        raise InputError("--format html needs --out FILE: the page is a file, e.g. oct.html.")
    if out_path is not None and fmt != PAGE_FORMAT:
        raise InputError(
            f"--out applies to --format html only, not --format {fmt}: redirect standard "
            "output (> oct.csv), or write a file with `deskmetrics export --what report --out "
            "FILE`."
        )
    if _given("weeks") and fmt != PAGE_FORMAT:
        raise InputError(f"--weeks applies to --format html only, not --format {fmt}.")
    # Checked before the page is written: an option the page does not use is refused,
    # never ignored.
    if raw_csv and fmt != "csv":
        raise InputError(f"--raw-csv applies to --format csv only, not --format {fmt}.")
    if wide and fmt != "table":
        raise InputError(
            f"--wide applies to --format table only, not --format {fmt}: it has every column."
        )
    if fmt == PAGE_FORMAT:
        _page(config_path, since_text, until_text, source, by, out_path, weeks, meta_path)
        return
    if meta_path is not None and fmt == "table":
        raise InputError("--meta applies to --format csv or json; the table says it above.")
    since, until = _day(since_text, "--since"), _day(until_text, "--until")
    settings, engine = _setup(config_path)
    found = fresh_report(engine, settings, since, until, source, by)
    if found.warning:
        log.warning("%s", found.warning)
    last = until - timedelta(days=1)
    if not found.rows:
        # "settled" above says how far the source is read, not that these days were: a
        # backfill reads from its --since on.
        log.warning(
            "nothing stored for %s to %s: if these days had activity, read them with "
            "`deskmetrics backfill --source NAME --since %s --until %s`",
            since,
            last,
            since,
            until,
        )
    heading = [
        f"deskmetrics report: {since} to {last} (local days in {settings.timezone})"
        + (f", by {by}" if by != "agent" else ""),
        f"database: {_shown(engine)}",
    ]
    if fmt != "table":
        _warn_provisional(found.meta)
    if meta_path is not None:
        written_text(meta_path, "--meta", found.meta.as_json() + "\n")
    _print_rows(found.rows, fmt, heading, raw_csv, wide, found.meta)


def _page(
    config_path: Path | None,
    since_text: str,
    until_text: str,
    source: str | None,
    by: str,
    out_path: Path | None,
    weeks: int,
    meta_path: Path | None,
) -> None:
    from deskmetrics.page_html import write_page

    if meta_path is not None:
        raise InputError("--meta applies to --format csv or json; the page says it at its top.")
    assert out_path is not None
    since, until = _day(since_text, "--since"), _day(until_text, "--until")
    settings, engine = _setup(config_path)
    data = write_page(engine, settings, out_path, since, until, source, by, weeks)
    if data.warning:
        log.warning("%s", data.warning)
    say(out, f"page: {out_path} ({len(data.rows)} rows)")


def _shown(engine: Any) -> str:
    """The database as people may see it: never its password."""
    return str(shown_url(engine.url))


def _print_rows(
    rows: Any,
    fmt: str,
    title: str | list[str],
    raw_csv: bool = False,
    wide: bool = False,
    meta: FileMeta | None = None,
    min_sample: int | None = None,
) -> None:
    # color=True: click would strip what looks like an ANSI sequence from data written to
    # a file, and raw CSV promises every cell as stored.
    if fmt == "csv":
        click.echo(as_csv(rows, raw=raw_csv), nl=False, color=True)
    elif fmt == "json":
        click.echo(as_json(rows), color=True)
    else:
        if meta is not None:
            print_table(rows, out, title, wide, meta.min_sample, meta.lines())
        else:
            print_table(rows, out, title, wide, min_sample)


@main.command()
@config_option
@click.option("--agent", "who", required=True, help="The agent's id or e-mail address.")
@click.option("--since", "since_text", required=True, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", required=True, help="Last day, YYYY-MM-DD (exclusive).")
@click.option(
    "--metric",
    type=click.Choice(["transfer", "fcr", "csat"]),
    default=None,
    help="Only the credits of this metric (default: all three).",
)
@click.option("--source", default=None, help="Only this source.")
@by_option("The row of one source agent, or of a person across sources (same e-mail).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def explain(
    config_path: Path | None,
    who: str,
    since_text: str,
    until_text: str,
    metric: str | None,
    source: str | None,
    by: str,
    fmt: str,
) -> None:
    """The interactions behind an agent's report row over [since, until): each credit with
    its verdict, the reason in words, the moments that decided it and a link to it in the
    source; then whether they add up to the row (exit 1 when they do not).

    Example: deskmetrics explain --agent ana@example.com --since 2026-10-01 --until
    2026-11-01 --metric fcr
    """
    since, until = _day(since_text, "--since"), _day(until_text, "--until")
    settings, engine = _setup(config_path)
    found = explain_row(engine, settings, who, since, until, metric, source, by)
    if fmt == "csv":
        click.echo(explain_csv(found), nl=False, color=True)
    elif fmt == "json":
        click.echo(explain_json(found), color=True)
    else:
        last = until - timedelta(days=1)
        heading = [
            f"deskmetrics explain: {since} to {last} (local days in {settings.timezone})",
            f"database: {_shown(engine)}",
        ]
        print_explanation(found, out, heading)
    if not found.agrees:
        raise LedgerMismatch(
            f"the credits of {who} do not add up to the report row ({summary(found)}): the "
            "credit ledger is older than the facts (a database upgraded and not rescored "
            "since?). Run `deskmetrics score --all`, then explain again."
        )
    if fmt != "table":
        say(err, summary(found))


class SourceDifference(DeskmetricsError):
    """The warehouse's counts differ from the source's own (`reconcile`)."""


@main.command()
@config_option
@click.option("--source", required=True, help="The source to compare, e.g. zendesk.")
@click.option("--since", "since_text", required=True, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", required=True, help="Last day, YYYY-MM-DD (exclusive).")
def reconcile(config_path: Path | None, source: str, since_text: str, until_text: str) -> None:
    """Per local day, the interactions created, the interactions resolved (now, at their
    latest resolution) and, where the source counts them cheaply, the ratings answered that
    the warehouse holds against the source's own counts (Zendesk: its search count, ratings
    not counted; Salesforce: aggregate SOQL by day, the API user's time zone being the
    settings' unless that is UTC; deleted ones are in neither). Prints a row for each count
    of a day that differs and by how much, the counts not compared and why, the days left out
    (not read or indexed yet) and the requests spent; exit 1 when a count differs.

    Example: deskmetrics reconcile --source zendesk --since 2026-10-01 --until 2026-11-01
    """
    since, until = _day(since_text, "--since"), _day(until_text, "--until")
    settings, engine = _setup(config_path)
    found = reconcile_counts(engine, settings, source, since, until)

    compared = ", ".join(dict.fromkeys(count.what for count in found.counts)) or "nothing"
    say(
        out,
        f"deskmetrics reconcile: {source}, {since} to {until - timedelta(days=1)}, "
        f"counts per local day ({settings.timezone}): {compared}",
    )
    if found.differing:
        say(out, f"{'day':<10}  {'count':<16}  {'stored':>7}  {source[:7]:>7}  {'difference':>10}")
        for count in found.differing:
            say(
                out,
                f"{count.day!s:<10}  {count.what:<16}  {count.stored:>7}  "
                f"{count.at_source:>7}  {count.difference:>+10d}",
            )
    for what, why in found.not_compared.items():
        say(out, f"not compared: {what}: {why}")
    if found.left_out:
        say(
            out,
            f"left out {len(found.left_out)} days from {found.left_out[0]}: not yet read "
            "completely or not yet indexed by the source",
        )
    days = found.differing_days
    say(out, f"compared {len(found.days)} days, {len(days)} differ; {found.requests} requests")
    if days:
        listed = ", ".join(str(day) for day in days)
        raise SourceDifference(
            f"{source}: {len(days)} days differ from the source's own counts ({listed}). Read "
            f"them again with `deskmetrics backfill --source {source} --since {days[0]} "
            f"--until {days[-1] + timedelta(days=1)}`."
        )


STATUS_UNKNOWN = 3  # `status` could not tell (settings, database): as a monitor's UNKNOWN


@main.command()
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help='json: one object of a documented, stable shape (docs/operations.md, "Monitoring").',
)
def status(config_path: Path | None, fmt: str) -> None:
    """Per source and stream: cursor, last success, lag, last error, lease; recent runs.

    Exits 0 when healthy; 1 when an enabled source lags more than [status]
    lag_alert_minutes, has never been read completely, or has records in quarantine
    (degraded); 2 when a stream has been failing for more than [status]
    failing_alert_minutes since its first failure, or has never succeeded; 3 when the
    settings or the database cannot be read: for cron, systemd or a monitor. Example:

        deskmetrics status --format json
    """
    try:
        settings, engine = _setup(config_path)
        found = read_status(engine, datetime.now(UTC), settings)
    except DeskmetricsError as failed:
        _fail(str(failed), STATUS_UNKNOWN)
    except DBAPIError as refused:
        failure = database_failure(refused, _shown(engine))
        if failure is None:
            raise
        _fail(str(failure), STATUS_UNKNOWN)
    if fmt == "json":
        click.echo(status_json(found, _shown(engine)))
    else:
        # First, which database this is: a cron job's settings may name another one.
        say(out, f"database: {_shown(engine)}")
        for line in lines_of(found):
            say(out, line)
    sys.exit(found.exit_code)


@main.command()
@config_option
def check(config_path: Path | None) -> None:
    """Is this installation ready? Settings, secrets, each source, the database.

    One line per check, ok or FAILED with what to fix; exits 1 if any failed. Each enabled
    source answers one cheap authenticated request (Zendesk: GET /api/v2/users/me.json,
    whose user must be an admin); the database must open and take a write, which is
    rolled back. Example:

        deskmetrics check --config /etc/deskmetrics/settings.toml
    """
    results = run_checks(config_path)
    for result in results:
        say(out, visible(result.line()))
    if not all(result.ok for result in results):
        sys.exit(1)


@main.command()
@config_option
@click.option(
    "--what", type=click.Choice(EXPORT_WHAT), required=True, help="facts, report or ratings."
)
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True
)
@click.option(
    "--out",
    "out_path",
    required=True,
    help="The file to write (replaced when complete); - writes CSV to standard output.",
)
@click.option("--since", "since_text", default=None, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", default=None, help="Last day, YYYY-MM-DD (exclusive).")
@click.option("--source", default=None, help="Only this source.")
@by_option("With --what report: per source agent or per person.")
@click.option(
    "--raw-csv",
    is_flag=True,
    help="Write text exactly as stored, for programs. By default a cell of agent or "
    "customer text that a spreadsheet would run as a formula starts with ' and control "
    "characters are shown escaped.",
)
def export(
    config_path: Path | None,
    what: str,
    fmt: str,
    out_path: str,
    since_text: str | None,
    until_text: str | None,
    source: str | None,
    by: str,
    raw_csv: bool,
) -> None:
    """Write facts, the report or ratings as a CSV or Parquet file, for BI tools.

    facts: counts per source, agent and local day; report: the rows of `deskmetrics
    report` (--since and --until required); ratings: satisfaction answers with comments.
    Days are local days in the configured time zone, [since, until); without them, all.
    The unassigned row has an empty agent_id. Parquet needs pyarrow:
    pip install 'deskmetrics[parquet]'. Example:

        deskmetrics export --what facts --format parquet --since 2026-01-01 --out facts.parquet
    """
    if raw_csv and fmt != "csv":
        raise InputError(f"--raw-csv applies to --format csv only, not --format {fmt}.")
    if _given("by") and what != "report":
        raise InputError(f"--by applies to --what report only, not --what {what}.")
    since = _day(since_text, "--since") if since_text else None
    until = _day(until_text, "--until") if until_text else None
    settings, engine = _setup(config_path)
    target = sys.stdout if out_path == "-" else Path(out_path)
    done = write_export(engine, settings, what, fmt, target, since, until, source, by, raw_csv)
    if done.warning:
        log.warning("%s", done.warning)
    _warn_provisional(done.meta)
    if out_path != "-":
        beside = f", what it is of in {out_path}{SIDECAR_SUFFIX}" if fmt == "csv" else ""
        say(err, visible(f"export: {done.rows} {what} rows written to {out_path} ({fmt}){beside}"))


def _warn_provisional(meta: FileMeta) -> None:
    """One warning per source whose figures in the file may still change (a file's reader
    sees no table heading; docs/metrics.md "Completeness")."""
    for state, line in zip(meta.sources, meta.lines(), strict=True):
        if meta.provisional(state) is not None:
            log.warning("%s", visible(line))


@main.command()
@config_option
@click.option("--source", default=None, help="Only this source.")
@click.option("--stream", default=None, help="Only this stream (tickets, events, ratings, …).")
@click.option(
    "--format", "fmt", type=click.Choice(QUARANTINE_FORMATS), default="table", show_default=True
)
@click.option("--show", "record_id", default=None, help="Print the record with this id, as sent.")
def quarantine(
    config_path: Path | None,
    source: str | None,
    stream: str | None,
    fmt: str,
    record_id: str | None,
) -> None:
    """Records a source sent that could not be read, set aside instead of stopping.

    A source with bad_records = "quarantine" in its settings skips a record it cannot read
    into this list (the default, "stop", stops and names it). Report them to the vendor
    with the record that --show prints. Example:

        deskmetrics quarantine --source zendesk --show 12345
    """
    from warehouse.quarantine import quarantined

    settings, engine = _setup(config_path)
    pipeline.check_source_known(engine, settings, source)
    found = quarantined(engine, source, stream, record_id)
    if record_id is None:
        if fmt == "json":
            click.echo(quarantine_as_json(found))
        elif not found:
            say(out, "no quarantined records")
        else:
            print_quarantine(found, out)
        return
    if not found:
        raise InputError(
            f"no quarantined record has the id {record_id!r} (source {source or 'any'}, "
            f"stream {stream or 'any'}); `deskmetrics quarantine` lists them."
        )
    if len(found) > 1:
        places = ", ".join(f"{e.source} {e.stream}" for e in found)
        raise InputError(
            f"records of several streams have the id {record_id!r} ({places}); "
            "pick one with --source and --stream."
        )
    click.echo(quarantined_record(found[0]))


@main.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the demo database (default: a new temporary folder); the "
    "manager's page goes beside it, the same name ending in .html. Neither may exist yet.",
)
@click.option(
    "--seed",
    default=7,
    show_default=True,
    help="Seed of the Zendesk desk; the Salesforce desk's is this plus 1.",
)
@click.option(
    "--tickets",
    type=click.IntRange(1, 100_000),
    default=3000,
    show_default=True,
    help="Tickets (cases) in each desk, 1 to 100,000.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def demo(db_path: Path | None, seed: int, tickets: int, fmt: str) -> None:
    """The whole pipeline with no account: sandboxes → backfill → score → report.

    Starts the Zendesk simulator and the Salesforce simulator on 127.0.0.1, each with a
    generated desk (the Salesforce one from another seed; some agents work in both),
    backfills both into one fresh SQLite file, scores, prints the report by agent and the
    people in both desks (by person), checks each source's rows against its desk's truth,
    and writes the manager's page beside the database. Example: deskmetrics demo --tickets 5000
    """
    from deskmetrics.demo import run_demo

    with progress_bars() as progress:
        result = run_demo(db_path, seed, tickets, progress)
    last = result.until - timedelta(days=1)
    # The demo's settings leave report.min_sample at its default.
    title = f"deskmetrics demo: {result.since} to {last} (UTC)"
    _print_rows(result.rows, fmt, title, min_sample=DEFAULT_MIN_SAMPLE)
    if fmt == "table" and result.people:
        # CSV and JSON hold one report; the people are a second table for readers.
        people = "people in both desks (report --by person)"
        _print_rows(result.people, fmt, people, min_sample=DEFAULT_MIN_SAMPLE)
    say(err, result.summary)
    if not result.matches_truth:
        _fail("the demo report differs from the sandbox's ground truth (see above): a bug.")


@main.group()
def db() -> None:
    """The database's schema. Every command upgrades an older database as it starts;
    `db upgrade` does only that, e.g. as a deploy step before the workers start.

    Example: deskmetrics db upgrade --config /etc/deskmetrics/settings.toml
    """


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Upgrade the database's schema in place to the newest revision this deskmetrics knows.

    A database from before schema revisions (schema_version 1 to 3) is adopted and
    upgraded. Prints from which revision to which. Example:

        deskmetrics db upgrade --config /etc/deskmetrics/settings.toml
    """
    from warehouse.schema import upgrade_database

    settings = load_settings(config_path)
    engine, change = upgrade_database(
        settings.database_url(), min_sample=settings.report.min_sample
    )
    where = shown_url(engine.url)
    say(out, f"database {where}: {change.summary()}")
