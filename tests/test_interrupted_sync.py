"""A sync killed at any page (SIGKILL, no clean-up) and run again ends with tables
identical to an uninterrupted run: each page is committed with its cursor, and a page
read twice changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import select

from deskmetrics import pipeline
from deskmetrics.cli import STOPPED_EARLY
from deskmetrics.settings import load_settings
from tests.desks import TINY, served_desk, table_dump, write_settings
from tests.salesforce_desks import CUSTOM_OBJECT, SOURCE, served_org
from warehouse.cursors import load_cursor
from warehouse.schema import open_engine, runs


def _sync(settings: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "deskmetrics", "sync", "--config", str(settings)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _sync_here(settings: Path, env: dict[str, str]) -> None:
    """The same sync in this process: only the run that is killed needs a process of its own,
    and two interpreters started per stop were most of this file's time."""
    loaded = load_settings(settings)
    with patch.dict(os.environ, env):
        pipeline.sync(open_engine(loaded.database_url()), loaded)


MULTI_PAGE = ("/api/v2/incremental/ticket_events.json", "/api/v2/satisfaction_ratings")


def test_a_sync_killed_at_any_page_resumes_to_identical_tables(tmp_path: Path) -> None:
    # Every stop below costs a whole sync, so this desk is as small as the stops allow: its
    # events and its answered ratings still take two pages or more (checked below).
    with served_desk(tmp_path / "clean", tickets=500, customers=125) as served:
        _sync_here(served.settings_path, served.environ)
        expected = table_dump(served.engine)
        paths = [path for path, _status in served.sandbox.served]
        requests_of = {
            p: [n for n, q in enumerate(paths, 1) if q == p] for p in dict.fromkeys(paths)
        }
        assert all(len(requests_of[p]) >= 2 for p in MULTI_PAGE), f"one page only: {paths}"
        # Kill while each stream's first page is in flight (nothing of it stored yet) and its
        # second (resumed from a cursor stored in the middle of the stream), and at the
        # last request of the run.
        stops = sorted({n for numbers in requests_of.values() for n in numbers[:2]} | {len(paths)})
        for stop in stops:
            database = tmp_path / f"killed-at-{stop}.sqlite"
            settings = tmp_path / f"killed-at-{stop}.toml"
            write_settings(settings, database, served.sandbox.base_url)
            if stop > 1:
                served.sandbox.inject("slow", times=stop - 1, delay=0.0)
            served.sandbox.inject("hang")
            child = _sync(settings, served.environ)
            try:
                assert served.sandbox.wait_for_hang(1, timeout=120), f"never reached request {stop}"
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=60)
            finally:
                served.sandbox.release()
                served.sandbox.faults.clear()
            _sync_here(settings, served.environ)
            resumed = table_dump(open_engine(f"sqlite:///{database}"))
            assert resumed == expected, f"killed at request {stop} of {len(paths)}"


@pytest.mark.parametrize(
    ("stream", "ticket_pages_again"),
    [("tickets", 2), ("ticket_events", 0), ("satisfaction_ratings", 0)],
)
def test_a_rerun_after_a_kill_reads_on_from_the_saved_cursors(
    tmp_path: Path, stream: str, ticket_pages_again: int
) -> None:
    with served_desk(tmp_path) as served:
        served.sandbox.inject("hang", path_contains=stream)
        child = _sync(served.settings_path, served.environ)
        try:
            assert served.sandbox.wait_for_hang(1, timeout=120)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            served.sandbox.release()
        before = dict(served.sandbox.requests_by_path)
        assert _sync(served.settings_path, served.environ).wait(timeout=300) == 0
        again = {p: n - before.get(p, 0) for p, n in served.sandbox.requests_by_path.items()}
    # Killed in the ticket export: both of its pages are read again. Killed later: the
    # rerun finishes the interrupted pass, so the finished export is not read again, and
    # neither are the agents, read before it.
    assert again.get("/api/v2/incremental/tickets/cursor.json", 0) == ticket_pages_again
    assert again.get("/api/v2/users.json", 0) == 0


def test_sigterm_lets_the_page_in_hand_commit_then_ends_the_sync_cleanly(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sandbox.inject("hang", path_contains="ticket_events")
        child = _sync(served.settings_path, served.environ)
        try:
            assert served.sandbox.wait_for_hang(1, timeout=120)
            child.send_signal(signal.SIGTERM)
        finally:
            served.sandbox.release()
        assert child.wait(timeout=120) == STOPPED_EARLY
        with served.engine.connect() as conn:
            statuses = list(conn.execute(select(runs.c.status)).scalars())
            events = load_cursor(served.engine, "zendesk", "events")
        # The events page in hand was stored with its cursor; the run says it was stopped.
        assert statuses == ["stopped"]
        assert events is not None
        assert _sync(served.settings_path, served.environ).wait(timeout=300) == 0
        resumed = table_dump(served.engine)
        clean = open_engine(f"sqlite:///{tmp_path / 'clean.sqlite'}")
        with patch.dict(os.environ, served.environ):
            pipeline.sync(clean, served.settings)
    assert resumed == table_dump(clean)


def _stopped_mid_run(
    tmp_path: Path, command: list[str], number: signal.Signals
) -> subprocess.CompletedProcess[str]:
    """`deskmetrics COMMAND` sent `number` while the sandbox holds its events page."""
    with served_desk(tmp_path, **TINY) as served:
        served.sandbox.inject("hang", path_contains="ticket_events")
        child = subprocess.Popen(
            [sys.executable, "-m", "deskmetrics", *command, "--config", str(served.settings_path)],
            env={**os.environ, **served.environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert served.sandbox.wait_for_hang(1, timeout=120)
            child.send_signal(number)
        finally:
            served.sandbox.release()
        stdout, stderr = child.communicate(timeout=120)
    return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("command", "number"),
    [
        (["backfill", "--source", "zendesk", "--since", "2026-01-01"], signal.SIGTERM),
        (["backfill", "--source", "zendesk", "--since", "2026-01-01"], signal.SIGINT),
        (["sync"], signal.SIGINT),
    ],
    ids=["backfill-sigterm", "backfill-ctrl-c", "sync-ctrl-c"],
)
def test_a_stopped_run_exits_with_its_own_code_and_says_a_rerun_goes_on(
    tmp_path: Path, command: list[str], number: signal.Signals
) -> None:
    result = _stopped_mid_run(tmp_path, command, number)
    assert result.returncode == STOPPED_EARLY, result.stderr
    assert f"{command[0]} stopped early" in result.stdout
    assert "run the same command again" in result.stdout
    assert "backfilled" not in result.stdout and "Traceback" not in result.stderr


def test_a_backfill_stopped_at_its_allowance_share_exits_with_its_own_code(
    tmp_path: Path,
) -> None:
    source = {**CUSTOM_OBJECT, "max_allowance_share": 0.01}  # 10 requests of 1,000 a run
    with served_org(tmp_path, {"daily_allowance": 1000}, **source) as org:
        since, _ = org.period()
        result = org.cli("backfill", "--source", SOURCE, "--since", str(since))
    assert result.returncode == STOPPED_EARLY, result.stderr
    assert "max_allowance_share" in result.stdout
    assert "run the same command again" in result.stdout
