"""`deskmetrics` command line: parses arguments, calls the pipeline, prints. Nothing else.

Expected failures (`DeskmetricsError`) print `Error: …` and exit 1; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from connectors.zendesk import Page
from deskmetrics import pipeline
from deskmetrics.output import FORMATS, as_csv, as_json, print_table
from deskmetrics.settings import Settings, load_settings
from interactions import DeskmetricsError, InputError
from warehouse.schema import open_engine

log = logging.getLogger("deskmetrics")
err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 200)


def _fail(message: str) -> None:
    err.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(1)


class _Group(click.Group):
    """Turns expected errors into `Error: …` and exit 1 at the edge, and only there."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeskmetricsError as failed:
            _fail(str(failed))


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (default: ./settings.toml).",
)


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{flag} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01."
        ) from None


def _setup(config_path: Path | None) -> tuple[Settings, Any]:
    settings = load_settings(config_path)
    return settings, open_engine(settings.database_url())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail (never secrets).")
@click.version_option(package_name="deskmetrics")
def main(verbose: bool) -> None:
    """Transfer rate, first-contact resolution and CSAT per agent, from Zendesk into SQL.

    Pull with `sync` (scheduled) or `backfill` (a window), then read `report` or point a
    BI tool at the database. Definitions: METRICS.md. Try it without an account:

        deskmetrics demo
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        for noisy in ("zenpy", "urllib3", "requests"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command()
@config_option
@click.option("--source", default=None, help="Only this source (a [sources.NAME] of settings).")
def sync(config_path: Path | None, source: str | None) -> None:
    """One incremental pass of every enabled source, then score what changed.

    Example: deskmetrics sync --config /etc/deskmetrics/settings.toml
    """
    settings, engine = _setup(config_path)
    with _progress() as progress:
        results = pipeline.sync(engine, settings, source, progress=progress)
    for result in results:
        read = ", ".join(f"{s.stream} {s.records}" for s in result.streams)
        out.print(
            f"{result.source}: read {read}; {result.usage.summary()}", highlight=False, markup=False
        )


@main.command()
@config_option
@click.option("--source", required=True, help="The source to backfill, e.g. zendesk.")
@click.option("--since", "since_text", required=True, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", default=None, help="Last day, YYYY-MM-DD (exclusive).")
def backfill(
    config_path: Path | None, source: str, since_text: str, until_text: str | None
) -> None:
    """Read a window of history with cursors of its own; rerun to resume.

    It never moves the scheduled sync's cursors. Example:

        deskmetrics backfill --source zendesk --since 2026-01-01 --until 2026-07-01
    """
    since = _day(since_text, "--since")
    until = _day(until_text, "--until") if until_text else None
    settings, engine = _setup(config_path)
    with _progress() as progress:
        result = pipeline.backfill(engine, settings, source, since, until, progress)
    read = ", ".join(f"{s.stream} {s.records}" for s in result.streams)
    out.print(
        f"{source}: backfilled {read}; {result.usage.summary()}", highlight=False, markup=False
    )


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
    if since_text:
        since = _day(since_text, "--since")
        until = _day(until_text, "--until") if until_text else date.today() + timedelta(days=1)
        days = [since + timedelta(days=n) for n in range((until - since).days)]
    settings, engine = _setup(config_path)
    written = pipeline.score(engine, settings, everything=everything, days=days)
    out.print(f"scored: {written} agent-day rows written", markup=False)


@main.command()
@config_option
@click.option("--since", "since_text", required=True, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", "until_text", required=True, help="Last day, YYYY-MM-DD (exclusive).")
@click.option("--source", default=None, help="Only this source.")
@click.option(
    "--by",
    type=click.Choice(["agent", "person"]),
    default="agent",
    show_default=True,
    help="One row per source agent, or per person across sources (same e-mail).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def report(
    config_path: Path | None,
    since_text: str,
    until_text: str,
    source: str | None,
    by: str,
    fmt: str,
) -> None:
    """Per-agent transfer %, FCR % and CSAT % with 95 % intervals over [since, until).

    Days are calendar days in the configured time zone. Example:

        deskmetrics report --since 2026-10-01 --until 2026-11-01 --format csv > oct.csv
    """
    since, until = _day(since_text, "--since"), _day(until_text, "--until")
    settings, engine = _setup(config_path)
    rows = pipeline.report(engine, settings, since, until, source, by)
    if not rows:
        log.warning(
            "no activity in %s to %s: has `deskmetrics sync` or `backfill` run?", since, until
        )
    _print_rows(rows, fmt, f"deskmetrics {since} to {until} ({settings.timezone})")


def _print_rows(rows: Any, fmt: str, title: str) -> None:
    if fmt == "csv":
        click.echo(as_csv(rows), nl=False)
    elif fmt == "json":
        click.echo(as_json(rows))
    else:
        print_table(rows, out, title)


@main.command()
@config_option
def status(config_path: Path | None) -> None:
    """Per source and stream: cursor, high-water mark, lag, last error; recent runs.

    Example: deskmetrics status
    """
    from deskmetrics.status import status_lines

    _, engine = _setup(config_path)
    for line in status_lines(engine, datetime.now(UTC)):
        out.print(line, highlight=False, markup=False)


@main.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the demo database (default: a new temporary folder).",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated desk.")
@click.option("--tickets", default=3000, show_default=True, help="Tickets in the generated desk.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def demo(db_path: Path | None, seed: int, tickets: int, fmt: str) -> None:
    """The whole pipeline with no account: sandbox → backfill → score → report.

    Starts the Zendesk simulator on 127.0.0.1 with a generated desk, backfills it into a
    fresh SQLite file, scores, prints the report and checks it against the desk's truth.
    Example: deskmetrics demo --tickets 5000
    """
    from deskmetrics.demo import run_demo

    with _progress() as progress:
        result = run_demo(db_path, seed, tickets, progress)
    _print_rows(result.rows, fmt, f"deskmetrics demo {result.since} to {result.until} (UTC)")
    err.print(result.summary, highlight=False, markup=False)
    if not result.matches_truth:
        _fail("the demo report differs from the sandbox's ground truth (see above): a bug.")


@contextmanager
def _progress() -> Iterator[pipeline.Progress]:
    """A progress bar per stream, measured in time read through (tickets up to …)."""
    bars = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.fields[reached]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )
    tasks: dict[str, tuple[TaskID, datetime]] = {}

    def update(stream: str, page: Page, until: datetime | None) -> None:
        if stream not in tasks:
            start = page.reached or datetime.now(UTC)
            tasks[stream] = (bars.add_task(stream, total=1.0, reached=""), start)
        task, start = tasks[stream]
        end = until or datetime.now(UTC)
        if page.done:
            bars.update(task, completed=1.0, reached="done")
        elif page.reached is not None:
            span = max((end - start).total_seconds(), 1.0)
            done = min(max((page.reached - start).total_seconds() / span, 0.0), 1.0)
            bars.update(task, completed=done, reached=f"up to {page.reached:%Y-%m-%d %H:%M}")
        if not err.is_terminal:
            # No bar to draw (cron, CI, a pipe): a log line a page says how far it got.
            where = f" up to {page.reached:%Y-%m-%d %H:%M}" if page.reached else ""
            log.info("%s: page stored, %d read%s", stream, page.read, where)

    with bars:
        yield update
