"""What the command line prints as prose (deskmetrics/console.py `say`, the `Error:` line):
text as written, with no emoji codes read into it, and a line never broken in two, so a
program or a person reading it sees it whole."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from deskmetrics.cli import main
from deskmetrics.console import say


def test_an_error_quoting_a_setting_shows_its_colons_as_written(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('timezone = "Europe/Paris:100:"\n')
    args = ["report", "--config", str(settings), "--since", "2026-01-01", "--until", "2026-02-01"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "unknown time zone 'Europe/Paris:100:'" in result.stderr


def test_a_line_of_prose_is_printed_as_written() -> None:
    buffer = io.StringIO()
    say(Console(file=buffer, width=80), "lease held by otherhost:1234:abcd [bold]x[/]")
    assert buffer.getvalue() == "lease held by otherhost:1234:abcd [bold]x[/]\n"


def test_a_line_of_prose_wider_than_the_console_is_not_broken() -> None:
    line = "zendesk: read " + ", ".join(f"{n} tickets" for n in range(40))
    buffer = io.StringIO()
    say(Console(file=buffer, width=80), line)
    assert buffer.getvalue() == line + "\n"
