"""`deskmetrics run`: the scheduler against the sandbox while the desk keeps changing, beside
a backfill, and as two workers sharing one PostgreSQL; its jobs as settings describe them."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import Engine, select

from deskmetrics import pipeline
from deskmetrics.crontab import crontab_trigger
from deskmetrics.scheduler import RESCORE_JOB, SchedulerJobs, build_scheduler, sync_job_id
from deskmetrics.settings import Settings, settings_from
from interactions import ConfigError
from sandbox.desk import Desk, advance_desk
from sandbox.desk import truth as desk_truth
from tests.desks import TINY, TOKEN_ENV, Served, served_desk
from warehouse.leases import current_lease
from warehouse.schema import open_engine, runs

# Every 1.2 s: several runs while a test advances the desk, and a run always due soon.
SHORT_SCHEDULE = "[schedule]\nsync_interval_minutes = 0.02\n"


@contextmanager
def _deskmetrics(log: Path, *args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`deskmetrics ARGS` in a child process, its log in `log`; killed if the test fails."""
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "deskmetrics", *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=60)


def _stop(child: subprocess.Popen[bytes], log: Path) -> None:
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=120) == 0, log.read_text()


def _wait_until(condition: Callable[[], bool], what: str, log: Path | None = None) -> None:
    """Poll a child process's effect (there is nothing to block on across processes)."""
    deadline = time.monotonic() + 180
    while not condition():
        if time.monotonic() > deadline:
            shown = f"; log:\n{log.read_text()}" if log else ""
            pytest.fail(f"timed out waiting for {what}{shown}")
        time.sleep(0.1)


def _runs(engine: Engine, source: str | None = None) -> list[Any]:
    with engine.connect() as conn:
        query = select(runs).order_by(runs.c.started_at)
        if source is not None:
            query = query.where(runs.c.source == source)
        return list(conn.execute(query))


def _ok_syncs_since(engine: Engine, source: str, moment: datetime) -> int:
    return sum(
        1
        for run in _runs(engine, source)
        if run.command == "sync" and run.status == "ok" and run.started_at > moment
    )


def _assert_one_run_at_a_time(engine: Engine, source: str) -> None:
    """Every run of the source is finished, and none began before the one before it ended."""
    found = _runs(engine, source)
    assert found and all(run.status in ("ok", "stopped") for run in found), found
    for before, after in itertools.pairwise(found):
        assert before.finished_at <= after.started_at, f"runs overlap: {before} and {after}"


def _report(engine: Engine, settings: Settings, served: Served, source: str) -> list[Any]:
    since, until = served.period()
    return [asdict(r) for r in pipeline.report(engine, settings, since, until, source)]


def _truth(desk: Desk, served: Served, source: str) -> list[dict[str, Any]]:
    since, until = served.period()
    return [{**row, "source": source} for row in desk_truth.report_rows(desk, since, until)]


def test_run_keeps_a_changing_desk_synced_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.settings_path.write_text(served.settings_path.read_text() + SHORT_SCHEDULE)
        log = tmp_path / "run.log"
        with _deskmetrics(
            log, "run", "--config", str(served.settings_path), env=served.environ
        ) as child:
            for seed in range(3):
                changed = datetime.now(UTC)
                _wait_until(
                    lambda since=changed: _ok_syncs_since(served.engine, "zendesk", since) > 0,
                    "a sync after the last change",
                    log,
                )
                advance_desk(served.desk, minutes=30, seed=seed)
            changed = datetime.now(UTC)
            _wait_until(
                lambda: _ok_syncs_since(served.engine, "zendesk", changed) > 0,
                "a sync after the last change",
                log,
            )
            # SIGTERM while a page is in hand: the page is stored, then the run stops.
            served.sandbox.inject("hang", path_contains="incremental/tickets")
            try:
                assert served.sandbox.wait_for_hang(1, timeout=120), log.read_text()
                child.send_signal(signal.SIGTERM)
                _wait_until(lambda: "stopping:" in log.read_text(), "the stop", log)
            finally:
                served.sandbox.release()
            assert child.wait(timeout=120) == 0, log.read_text()
        assert _runs(served.engine)[-1].status == "stopped"
        assert _report(served.engine, served.settings, served, "zendesk") == _truth(
            served.desk, served, "zendesk"
        )
        _assert_one_run_at_a_time(served.engine, "zendesk")
    lines = log.read_text().splitlines()
    summaries = [line for line in lines if "lag behind the source" in line]
    assert len(summaries) >= 4 and "requests" in summaries[0]
    assert "stopped early" in summaries[-1] and "Traceback" not in log.read_text()


def test_a_backfill_and_the_scheduler_on_one_source_never_write_it_at_once(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.settings_path.write_text(served.settings_path.read_text() + SHORT_SCHEDULE)
        since, _ = served.period()
        config = ["--config", str(served.settings_path)]
        served.sandbox.inject("hang", path_contains="users")  # the backfill's first request
        with ExitStack() as children:
            backfill_log, run_log = tmp_path / "backfill.log", tmp_path / "run.log"
            backfill = children.enter_context(
                _deskmetrics(
                    backfill_log,
                    "backfill",
                    *config,
                    "--source",
                    "zendesk",
                    "--since",
                    since.isoformat(),
                    env=served.environ,
                )
            )
            try:
                assert served.sandbox.wait_for_hang(1, timeout=120), backfill_log.read_text()
                lease = current_lease(served.engine, "zendesk")
                assert lease is not None
                scheduler = children.enter_context(
                    _deskmetrics(run_log, "run", *config, env=served.environ)
                )
                _wait_until(lambda: "skipped this run" in run_log.read_text(), "a skip", run_log)
                # The desk changes while the backfill holds the source.
                advance_desk(served.desk, minutes=30, seed=1)
            finally:
                served.sandbox.release()
            assert backfill.wait(timeout=180) == 0, backfill_log.read_text()
            done = datetime.now(UTC)
            _wait_until(
                lambda: _ok_syncs_since(served.engine, "zendesk", done) > 0,
                "a sync after the backfill",
                run_log,
            )
            _stop(scheduler, run_log)
        skipped = next(line for line in run_log.read_text().splitlines() if "skipped" in line)
        assert lease.holder in skipped and "deskmetrics backfill" in skipped
        assert _report(served.engine, served.settings, served, "zendesk") == _truth(
            served.desk, served, "zendesk"
        )
        _assert_one_run_at_a_time(served.engine, "zendesk")
        assert {run.command for run in _runs(served.engine)} == {"backfill", "sync"}


def _two_source_settings(path: Path, database_url: str, first: Served, second: Served) -> None:
    path.write_text(
        f"""[database]
url = "{database_url}"
[http]
max_attempts = 3
max_wait_seconds = 10
timeout_seconds = 30.0
backoff_initial_seconds = 0.05
backoff_max_seconds = 0.2
{SHORT_SCHEDULE}
[sources.zendesk]
base_url = "{first.sandbox.base_url}"
email = "demo@example.com"
token_env = "{TOKEN_ENV}"
[sources.zendesk_emea]
base_url = "{second.sandbox.base_url}"
email = "demo@example.com"
token_env = "{TOKEN_ENV}"
"""
    )


def test_two_workers_on_one_postgresql_sync_each_source_one_at_a_time(
    tmp_path: Path, postgres_database_url: str
) -> None:
    sources = ("zendesk", "zendesk_emea")
    with (
        served_desk(tmp_path / "first", **TINY) as first,
        served_desk(tmp_path / "second", seed=8, **TINY) as second,
    ):
        config = tmp_path / "workers.toml"
        _two_source_settings(config, postgres_database_url, first, second)
        engine = open_engine(postgres_database_url)
        logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
        with ExitStack() as children:
            workers = [
                children.enter_context(
                    _deskmetrics(log, "run", "--config", str(config), env=first.environ)
                )
                for log in logs
            ]
            began = datetime.now(UTC)
            for source in sources:
                _wait_until(
                    lambda s=source: _ok_syncs_since(engine, s, began) >= 2,
                    f"two syncs of {source}",
                    logs[0],
                )
            advance_desk(first.desk, minutes=30, seed=1)
            advance_desk(second.desk, minutes=30, seed=1)
            changed = datetime.now(UTC)
            for source in sources:
                _wait_until(
                    lambda s=source: _ok_syncs_since(engine, s, changed) >= 1,
                    f"a sync of {source} after the change",
                    logs[0],
                )
            for worker, log in zip(workers, logs, strict=True):
                _stop(worker, log)
        settings = settings_from({"sources": {s: {} for s in sources}})
        for source, served in zip(sources, (first, second), strict=True):
            assert _report(engine, settings, first, source) == _truth(served.desk, first, source)
            _assert_one_run_at_a_time(engine, source)
        holders = {run.holder.split(":")[1] for run in _runs(engine)}
        engine.dispose()
    assert holders <= {str(worker.pid) for worker in workers}
    for log in logs:
        assert "Traceback" not in log.read_text(), log.read_text()


def test_a_sync_that_fell_due_while_running_runs_once_more_after_it_not_beside_it(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served, patch.dict(os.environ, served.environ):
        served.sandbox.inject("hang")
        jobs = SchedulerJobs(served.engine, served.settings, threading.Event())
        worker = threading.Thread(target=jobs.sync, args=["zendesk"])
        worker.start()
        try:
            assert served.sandbox.wait_for_hang(1, timeout=60)
            jobs.fell_due(sync_job_id("zendesk"))
            jobs.fell_due(sync_job_id("zendesk"))  # missed twice: caught up once
        finally:
            served.sandbox.release()
        worker.join(timeout=120)
        assert [(run.command, run.status) for run in _runs(served.engine)] == [("sync", "ok")] * 2
        _assert_one_run_at_a_time(served.engine, "zendesk")


def _jobs(settings: Settings, engine: Engine) -> dict[str, Any]:
    scheduler = build_scheduler(SchedulerJobs(engine, settings, threading.Event()))
    return {job.id: job for job in scheduler.get_jobs()}


def test_the_jobs_follow_the_settings_one_at_a_time_and_coalesced(engine: Engine) -> None:
    settings = settings_from(
        {
            "timezone": "Europe/Berlin",
            "schedule": {"sync_interval_minutes": 20, "rescore_at": "04:15"},
            "sources": {
                "plain": {},
                "often": {"sync_interval_minutes": 5},
                "office_hours": {"sync_cron": "*/10 8-18 * * 1-5"},
                "off": {"enabled": False},
            },
        }
    )
    jobs = _jobs(settings, engine)
    assert set(jobs) == {sync_job_id(s) for s in ("plain", "often", "office_hours")} | {RESCORE_JOB}
    assert jobs[sync_job_id("plain")].trigger.interval.total_seconds() == 20 * 60
    assert jobs[sync_job_id("often")].trigger.interval.total_seconds() == 5 * 60
    office = {f.name: str(f) for f in jobs[sync_job_id("office_hours")].trigger.fields}
    assert (office["minute"], office["hour"], office["day_of_week"]) == (
        "*/10",
        "8-18",
        "mon,tue,wed,thu,fri",
    )
    rescore = {f.name: str(f) for f in jobs[RESCORE_JOB].trigger.fields}
    assert (rescore["hour"], rescore["minute"]) == ("4", "15")
    assert str(jobs[RESCORE_JOB].trigger.timezone) == "Europe/Berlin"
    for job in jobs.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)


@pytest.mark.parametrize(
    ("weekdays", "fires_on"),
    [
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("sat,sun", ["Sat", "Sun"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("1-7/3", ["Mon", "Thu", "Sun"]),
    ],
)
def test_a_sync_cron_fires_on_the_weekdays_cron_would(weekdays: str, fires_on: list[str]) -> None:
    # APScheduler 3.x counts weekdays from Monday, cron from Sunday.
    trigger = crontab_trigger(f"0 9 * * {weekdays}", "UTC")
    moment = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
    fired = set()
    for _ in range(14):
        moment = trigger.get_next_fire_time(None, moment + timedelta(minutes=1))
        fired.add(moment.strftime("%a"))
    assert fired == set(fires_on)


@pytest.mark.parametrize("expression", ["* * * *", "0 9 * * 8", "0 9 * * 5-1", "0 9 * * funday"])
def test_a_wrong_sync_cron_is_a_config_error_naming_the_key(expression: str) -> None:
    with pytest.raises(ConfigError, match=r"sources\.zendesk\.sync_cron.*crontab"):
        settings_from({"sources": {"zendesk": {"sync_cron": expression}}})


def test_a_sync_cron_with_a_day_and_a_weekday_fires_on_either_as_cron_does() -> None:
    # crontab(5): with both fields restricted, the 1st, the 15th and every Monday.
    trigger = crontab_trigger("0 6 1,15 * 1", "UTC")
    moment = datetime(2026, 11, 29, tzinfo=UTC)  # a Sunday
    fired = []
    for _ in range(5):
        moment = trigger.get_next_fire_time(None, moment + timedelta(minutes=1))
        fired.append(moment.strftime("%a %d %b"))
    assert fired == ["Mon 30 Nov", "Tue 01 Dec", "Mon 07 Dec", "Mon 14 Dec", "Tue 15 Dec"]


def test_a_sync_cron_that_never_fires_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"sync_cron.*never comes, such as 31 February"):
        settings_from({"schedule": {"sync_cron": "0 0 31 2 *"}})


def test_run_with_no_enabled_source_says_to_add_one(engine: Engine) -> None:
    settings = settings_from({"sources": {"off": {"enabled": False}}})
    with pytest.raises(ConfigError, match=r"no enabled source.*\[sources\.NAME\]"):
        _jobs(settings, engine)
