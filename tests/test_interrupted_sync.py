"""A sync killed at any page (SIGKILL, no clean-up) and run again ends with tables
identical to an uninterrupted run: each page is committed with its cursor, and a page
read twice changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.desks import served_desk, table_dump, write_settings
from warehouse.schema import open_engine


def _sync(settings: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "deskmetrics", "sync", "--config", str(settings)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_sync_killed_at_any_page_resumes_to_identical_tables(tmp_path: Path) -> None:
    with served_desk(tmp_path / "clean") as served:
        assert _sync(served.settings_path, served.environ).wait(timeout=300) == 0
        expected = table_dump(served.engine)
        paths = [path for path, _status in served.sandbox.served]
        # Kill while each stream's first page is in flight, and at its later pages.
        firsts = {paths.index(p) + 1 for p in set(paths)}
        stops = sorted(firsts | {2, len(paths) // 2, len(paths) - 1, len(paths)})
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
            assert _sync(settings, served.environ).wait(timeout=300) == 0
            resumed = table_dump(open_engine(f"sqlite:///{database}"))
            assert resumed == expected, f"killed at request {stop} of {len(paths)}"


@pytest.mark.parametrize(
    ("stream", "ticket_pages_again"),
    [("tickets", 2), ("ticket_events", 1), ("satisfaction_ratings", 1)],
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
    # finished export is not, only the short overlap after its saved cursor (one page).
    assert again["/api/v2/incremental/tickets/cursor.json"] == ticket_pages_again
