"""A Salesforce backfill goes on where the last run stopped, at the request level (issue 22):
a Bulk job is kept from the moment it exists, and what the org changes rarely (CaseStatus,
the CSAT settings' check) is kept, so a backfill killed after every few requests still
finishes, every cell right. Real child processes, SIGKILLed while a request hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sandbox.desk import DeskSpec, generate_desk
from tests.desks import desk_now
from tests.salesforce_desks import CUSTOM_OBJECT, DESK, ENVIRON, SOURCE, ServedOrg, served_org
from warehouse.cursors import load_cursor

# Bulk jobs for cases and history (several result pages each), REST for the few answers.
BULK = {**CUSTOM_OBJECT, "bulk_threshold": 50, "bulk_page_records": 100}
QUICK_JOBS = {"bulk_polls_in_progress": 0}  # the children's waits between polls are real
SMALL = {**DESK, "tickets": 120, "customers": 50}
JOBS = "/services/data/v62.0/jobs/query"


def _backfill(org: ServedOrg) -> subprocess.Popen[bytes]:
    since, _ = org.period()
    command = ["backfill", "--source", SOURCE, "--since", since.isoformat()]
    return subprocess.Popen(
        [sys.executable, "-m", "deskmetrics", *command, "--config", str(org.settings_path)],
        env={**os.environ, **ENVIRON},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _killed_at_hang(org: ServedOrg, child: subprocess.Popen[bytes]) -> bool:
    """Kill `child` once a request of its hangs: True; False when it ended first."""
    while child.poll() is None:
        if org.sandbox.wait_for_hang(1, timeout=0.2):
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=60)
            assert org.sandbox.release_all()
            return True
    assert org.sandbox.release_all()
    return False


def test_a_bulk_backfill_killed_after_every_4_requests_finishes_with_every_cell_right(
    tmp_path: Path,
) -> None:
    desk = generate_desk(DeskSpec(now=desk_now(), **SMALL))
    with served_org(tmp_path, QUICK_JOBS, desk, **BULK) as org:
        kills = 0
        while True:
            org.sandbox.inject("slow", times=3, delay=0.0)
            org.sandbox.inject("hang")  # the fourth request of the run
            child = _backfill(org)
            if not _killed_at_hang(org, child):
                break
            kills += 1
            assert kills < 60, "the runs made no progress"
        assert child.returncode == 0
        assert org.report() == org.truth()
    assert kills >= 5, kills  # a backfill of this desk takes many runs of 3 requests


def test_a_rerun_after_a_kill_right_after_the_job_is_created_polls_that_job(
    tmp_path: Path,
) -> None:
    desk = generate_desk(DeskSpec(now=desk_now(), **SMALL))
    with served_org(tmp_path, QUICK_JOBS, desk, **BULK) as org:
        org.sandbox.inject("hang", path_contains=f"{JOBS}/")  # the new job's first poll
        assert _killed_at_hang(org, _backfill(org))
        since, _ = org.period()
        cursor = load_cursor(org.engine, SOURCE, f"backfill:{since}:open:cases") or {}
        job = cursor["job"]  # kept as soon as it was created
        before = len(org.sandbox.served)
        rerun = _backfill(org)
        assert rerun.wait(timeout=300) == 0
        again = [path for path, _ in org.sandbox.served[before:]]
        assert org.report() == org.truth()
    # The login, then that job: no CaseStatus, describe or window probe again, no new job.
    assert again[:3] == ["/services/Soap/u/62.0", f"{JOBS}/{job}", f"{JOBS}/{job}/results"]
    assert again.count(JOBS) == 1  # the history's job only
