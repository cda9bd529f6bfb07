"""A database that cannot be written, is full or disappears: one `Error:` line naming the
file and the fix, exit 1, never a traceback; `deskmetrics run` stops on it (a retry cannot
cure it) and goes on after a failure the next interval may get through."""

from __future__ import annotations

import os
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from connectors.protocol import Page
from deskmetrics import pipeline
from deskmetrics.scheduler import SchedulerJobs
from deskmetrics.settings import load_settings
from interactions import WarehouseError
from scoring import Credit
from tests.desks import TINY, TOKEN_ENV, run_cli, served_desk, write_settings
from warehouse.access import DatabaseUnreachableError, database_failure
from warehouse.ledger import replace_day_credits
from warehouse.schema import connect, open_engine


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def _read_only_settings(tmp_path: Path) -> Path:
    """Settings whose database exists, with every table, but may only be read."""
    database = tmp_path / "w.sqlite"
    open_engine(f"sqlite:///{database}").dispose()
    settings = tmp_path / "s.toml"
    write_settings(settings, database, "http://127.0.0.1:9")
    text_ = settings.read_text().replace(
        f'url = "sqlite:///{database}"', f'url = "sqlite:///file:{database}?mode=ro&uri=true"'
    )
    settings.write_text(text_)
    return settings


@pytest.mark.parametrize(
    "command",
    [["sync"], ["backfill", "--source", "zendesk", "--since", "2026-01-01"], ["run"]],
    ids=["sync", "backfill", "run"],
)
def test_a_read_only_database_is_one_error_line_and_exit_1(
    tmp_path: Path, command: list[str]
) -> None:
    settings = _read_only_settings(tmp_path)
    name, *args = command
    result = run_cli([name, "--config", str(settings), *args], {TOKEN_ENV: "t"})
    line = _one_error_line(result)
    assert "cannot be written" in line and "w.sqlite" in line


def test_a_full_sqlite_database_is_named_full(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'full.sqlite'}")
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.execute(text("PRAGMA max_page_count = 8"))
        conn.execute(text("CREATE TABLE filler (payload TEXT)"))
        for _ in range(100):
            conn.execute(text("INSERT INTO filler VALUES (:p)"), {"p": "x" * 4000})
    failure = database_failure(refused.value, "sqlite:///full.sqlite")
    assert failure is not None and not isinstance(failure, DatabaseUnreachableError)
    assert "full" in str(failure) and "full.sqlite" in str(failure)


def test_a_database_file_removed_mid_backfill_stops_it_naming_the_file(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        since, _ = served.period()

        def remove_the_file(stream: str, page: Page, until: datetime | None) -> None:
            for file in tmp_path.glob("warehouse.sqlite*"):
                file.unlink()

        with pytest.raises(WarehouseError, match="removed or moved") as stopped:
            pipeline.backfill(
                served.engine, served.settings, "zendesk", since, None, remove_the_file,
                config=served.config(), policy=served.policy(),
            )  # fmt: skip
    assert "warehouse.sqlite" in str(stopped.value)


def test_a_constraint_violation_is_no_refusal_and_keeps_its_traceback(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(DBAPIError) as broken:
        conn.execute(text("INSERT INTO leases (source) VALUES ('x')"))
    assert database_failure(broken.value, "db") is None


def test_a_refused_ledger_write_is_the_sql_layers_error_on_both_databases(
    any_engine: Engine,
) -> None:
    # Two credits with one key: the database refuses the rows (on PostgreSQL a COPY, which
    # the SQL layer does not run), and the refusal must reach database_failure all the same.
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    credit = Credit("zd", "1", "A", at.date(), "handled", "A", at, "kept", "owner", handled=1)
    with any_engine.begin() as conn, pytest.raises(DBAPIError) as refused:
        replace_day_credits(conn, "zd", [at.date()], [credit, credit], at)
    assert database_failure(refused.value, "db") is None  # a bug, not a refusal to retry


def _jobs(tmp_path: Path) -> SchedulerJobs:
    """The scheduler's jobs on settings whose Zendesk address refuses connections."""
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    settings = load_settings(tmp_path / "s.toml")
    return SchedulerJobs(open_engine(settings.database_url()), settings, threading.Event())


def test_run_stops_on_a_missing_token_a_retry_cannot_cure(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    with patch.dict(os.environ, env, clear=True):
        jobs.sync("zendesk")
    assert jobs.stop.is_set()
    assert jobs.fatal is not None and TOKEN_ENV in str(jobs.fatal)


def test_run_goes_on_after_a_source_it_cannot_reach_for_now(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path)
    with patch.dict(os.environ, {TOKEN_ENV: "t"}):
        jobs.sync("zendesk")
    assert not jobs.stop.is_set() and jobs.fatal is None
