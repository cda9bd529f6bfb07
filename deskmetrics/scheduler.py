"""`deskmetrics run`: the scheduler, in the foreground (APScheduler 3.x `BlockingScheduler`).

Its jobs come from settings: per enabled source a sync (the source's `sync_cron` or
`sync_interval_minutes`, else the [schedule] ones), which then scores the days it dirtied;
and a nightly rescore of the trailing `schedule.rescore_days` days at
`schedule.rescore_at`. The job store is memory: the schedule is the settings.

- Never doubled up: every job has `max_instances=1`. Other processes are kept off a source
  by its lease (warehouse/leases.py): a worker whose job finds the lease held skips that
  run and says who holds it, so several workers sharing one PostgreSQL split the sources.
- A missed run is caught up once: `coalesce` folds the fire times missed while the process
  could not run (suspended, busy) into one run, however late (`misfire_grace_time=None`);
  a fire time that fell while the job's previous run was still going runs once as soon as
  that run ends (`SchedulerJobs.fell_due`).
- SIGTERM or SIGINT sets the stop flag: each run ends after the page in hand (stored with
  its cursor), running jobs finish, `run_scheduler` returns and `run` exits 0.
- An error a retry cannot cure (the settings, a secret, credentials refused, a database
  that cannot be written) stops every job the same way, and `run_scheduler` raises it:
  `run` exits 1, so systemd restarts it or alerts, instead of a worker that looks alive
  and writes nothing. Any other failure (a source or database unreachable for now) is
  logged in one line, kept in `sync_state` and `runs` for `status`, and tried again at
  the job's next fire time.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (  # type: ignore[import-untyped]
    EVENT_JOB_MAX_INSTANCES,
    EVENT_SCHEDULER_STARTED,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.blocking import BlockingScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from deskmetrics import pipeline
from deskmetrics.crontab import crontab_trigger
from deskmetrics.settings import Settings, SyncSchedule
from interactions import AuthenticationError, ConfigError, DeskmetricsError, WarehouseError
from warehouse.access import DatabaseUnreachableError, database_failure, shown_url
from warehouse.leases import LeaseHeldError

log = logging.getLogger(__name__)

RESCORE_JOB = "rescore"
ONE_AT_A_TIME: dict[str, Any] = {
    "max_instances": 1,
    "coalesce": True,
    # With coalesce, missed fire times run once however late: a sync is never too late.
    "misfire_grace_time": None,
}


def sync_job_id(source: str) -> str:
    return f"sync:{source}"


class SchedulerJobs:
    """What the jobs do, and the fire times that fell due while their job was running."""

    def __init__(self, engine: Engine, settings: Settings, stop: threading.Event) -> None:
        self.engine = engine
        self.settings = settings
        self.stop = stop
        self._due_again: set[str] = set()
        self._lock = threading.Lock()
        self.fatal: DeskmetricsError | None = None  # what stopped the scheduler, if anything

    def fell_due(self, job_id: str) -> None:
        """The job's fire time came while its previous run was going: run once more after."""
        with self._lock:
            if job_id not in self._due_again:
                log.info("%s fell due while its previous run was going; it runs once more", job_id)
            self._due_again.add(job_id)

    def sync(self, source: str) -> None:
        """Sync `source`, then score what it dirtied; again once if it fell due meanwhile."""
        job_id = sync_job_id(source)
        while not self.stop.is_set():
            with self._lock:
                self._due_again.discard(job_id)
            self._sync_once(source)
            with self._lock:
                if job_id not in self._due_again:
                    return

    def _sync_once(self, source: str) -> None:
        try:
            # Never wait for the lease: another process is syncing this source right now,
            # and this run's work is theirs.
            pipeline.sync_source(
                self.engine, self.settings, source, stop=self.stop, lease_wait_seconds=0
            )
        except LeaseHeldError as held:
            log.info("%s: skipped this run: %s", source, held.held_by)
            return
        except (DeskmetricsError, DBAPIError) as failed:
            # What the run stored before it failed is kept, and its days are scored below.
            if not self._goes_on(f"{source}: sync", failed):
                return
        if not self.stop.is_set():
            self._score(f"{source}: scoring the days this sync changed")

    def _goes_on(self, what: str, failed: DeskmetricsError | DBAPIError) -> bool:
        """Whether the scheduler goes on after `failed`: yes, logged, when the next fire
        time may get through; no when a retry cannot cure it, and then every job stops
        and `run_scheduler` raises it. A database error that is no refusal (a bug) is
        raised here, with its traceback."""
        error = failed
        if isinstance(failed, DBAPIError):
            shown = shown_url(self.engine.url)
            found = database_failure(failed, shown)
            if found is None:
                raise failed
            error = found
        fatal = isinstance(error, ConfigError | AuthenticationError | WarehouseError)
        if not fatal or isinstance(error, DatabaseUnreachableError):
            log.error("%s failed: %s; tried again at its next run", what, error)
            return True
        with self._lock:
            if self.fatal is None:
                self.fatal = DeskmetricsError(f"{what} failed, and a retry cannot cure it: {error}")
        log.info("%s: stopping every job; `deskmetrics run` ends with an error", what)
        self.stop.set()
        return False

    def rescore(self) -> None:
        """Recompute the trailing `schedule.rescore_days` local days, today included."""
        today = datetime.now(ZoneInfo(self.settings.timezone)).date()
        days = [today - timedelta(days=n) for n in range(self.settings.schedule.rescore_days)]
        self._score(f"nightly rescore of {days[-1]} to {days[0]}", days)

    def _score(self, what: str, days: list[date] | None = None) -> None:
        started = time.monotonic()
        try:
            written = pipeline.score_when_free(
                self.engine, self.settings, days=days, stop=self.stop
            )
        except (DeskmetricsError, DBAPIError) as failed:
            self._goes_on(what, failed)
            return
        if written is None:
            return  # another process is scoring: it said so, and the days stay dirty
        log.info("%s: %d agent-day rows in %.1f s", what, written, time.monotonic() - started)


def build_scheduler(jobs: SchedulerJobs) -> Any:
    """A `BlockingScheduler` with one sync job per enabled source and the nightly rescore."""
    settings = jobs.settings
    sources = settings.sources_to_read()
    scheduler = BlockingScheduler(
        # A worker per job: one source's slow run never delays another's.
        executors={"default": ThreadPoolExecutor(max_workers=len(sources) + 1)},
        timezone=ZoneInfo(settings.timezone),
    )
    now = datetime.now(UTC)
    for source in sources:
        schedule = settings.sync_schedule(source)
        first: dict[str, Any] = {} if schedule.cron else {"next_run_time": now}
        scheduler.add_job(
            jobs.sync,
            _sync_trigger(schedule, settings.timezone),
            args=[source],
            id=sync_job_id(source),
            name=f"sync {source}",
            **ONE_AT_A_TIME,
            **first,
        )
    hour, minute = (int(part) for part in settings.schedule.rescore_at.split(":")[:2])
    scheduler.add_job(
        jobs.rescore,
        CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(settings.timezone)),
        id=RESCORE_JOB,
        name="nightly rescore",
        **ONE_AT_A_TIME,
    )

    def skipped(event: JobSubmissionEvent) -> None:
        jobs.fell_due(event.job_id)

    scheduler.add_listener(skipped, EVENT_JOB_MAX_INSTANCES)
    return scheduler


def _sync_trigger(schedule: SyncSchedule, timezone: str) -> Any:
    zone = ZoneInfo(timezone)
    if schedule.cron:
        return crontab_trigger(schedule.cron, zone)
    return IntervalTrigger(seconds=schedule.interval_minutes * 60, timezone=zone)


def run_scheduler(engine: Engine, settings: Settings, stop: threading.Event | None = None) -> None:
    """Run the jobs until SIGTERM or SIGINT (or `stop`, when given), then return once the
    runs in hand have stored their page and finished; raise the error that stopped them
    when a retry could not cure it."""
    stop = stop or threading.Event()
    if not log.isEnabledFor(logging.DEBUG):
        # Its own lines would double each run's (adding, running, executed); its errors stay.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
    jobs = SchedulerJobs(engine, settings, stop)
    scheduler = build_scheduler(jobs)
    started = threading.Event()

    def on_start(_event: SchedulerEvent) -> None:
        started.set()

    scheduler.add_listener(on_start, EVENT_SCHEDULER_STARTED)
    # The scheduler is shut down from a thread of its own, never from the signal handler:
    # a handler runs between any two lines of the main thread, locks held or not.
    threading.Thread(
        target=_shut_down_when_stopped, args=(scheduler, started, stop), daemon=True
    ).start()
    restore = _stop_on_signals(stop)
    try:
        for job in scheduler.get_jobs():
            log.info("scheduled: %s (%s)", job.name, job.trigger)
        scheduler.start()
    finally:
        restore()
    log.info("stopped: every run in hand has finished")
    if jobs.fatal is not None:
        raise jobs.fatal


def _shut_down_when_stopped(
    scheduler: Any, started: threading.Event, stop: threading.Event
) -> None:
    started.wait()
    stop.wait()
    log.info("stopping: the runs in hand end after their page in hand")
    # Paused first, so that nothing new is submitted while the running jobs finish.
    scheduler.pause()
    scheduler.shutdown(wait=True)


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM and SIGINT set `stop`; the function returned puts the old handlers back."""

    def handle(number: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            log.info("%s again: still finishing the page in hand", signal.Signals(number).name)
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore
