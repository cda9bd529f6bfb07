"""The command line's consoles: stdout for results, stderr for errors, logs and progress.

Log records are printed through a console, above any progress bars drawn on it, never
into them; a page read moves its stream's bar (or, with no terminal, logs a line).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from connectors.protocol import Page
from deskmetrics import pull
from deskmetrics.output import visible

log = logging.getLogger("deskmetrics")
# Emoji codes are off: a host name such as `otherhost:100:` is text, not a picture. Piped
# output is 200 columns wide, whatever COLUMNS says (test runners and CI set it to 80).
err = Console(stderr=True, emoji=False)
out = Console(width=None if sys.stdout.isatty() else 200, emoji=False)


def say(console: Console, text: str) -> None:
    """A line of prose as written (no markup, highlighting or emoji), never broken into
    lines: a program reading it, or a terminal that wraps it, sees it whole."""
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


class ConsoleLog(logging.Handler):
    """Log records printed through a rich Console: while progress bars are drawn on it,
    each record is printed above them, never into them. A record's text may quote what a
    server sent: its control characters are shown escaped, line by line."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except (TypeError, ValueError):  # a message whose arguments do not fit it
            self.handleError(record)
            return
        shown = "\n".join(visible(line) for line in text.split("\n"))
        self.console.print(shown, markup=False, highlight=False, soft_wrap=True)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to(console: Console, level: int) -> None:
    """Route every log record through `console` (one handler, however often called)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, ConsoleLog)]:
        root.removeHandler(handler)
    handler = ConsoleLog(console)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


@contextmanager
def progress_bars(console: Console = err) -> Iterator[pull.Progress]:
    """A progress bar per stream, measured in time read through (tickets up to …), drawn
    on `console`, the console log records are printed through (`log_to`)."""
    bars = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.fields[reached]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
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
        if not console.is_terminal:
            # No bar to draw (cron, CI, a pipe): a log line a page says how far it got.
            where = f" up to {page.reached:%Y-%m-%d %H:%M}" if page.reached else ""
            log.info("%s: page stored, %d read%s", stream, page.read, where)

    with bars:
        yield update
