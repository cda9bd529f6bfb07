"""Leases (warehouse/leases.py) on SQLite and PostgreSQL: take, renew, expire, take-over,
release, wait; runs left `running` by a dead process are closed as `abandoned`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from deskmetrics import pipeline
from deskmetrics.settings import settings_from
from tests.desks import served_desk
from warehouse import leases
from warehouse.day_marks import dirty_days_of, mark_days
from warehouse.leases import HeldLease, LeaseHeldError, LeaseLostError, LeaseWaitStopped
from warehouse.runs import start_run
from warehouse.schema import runs

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)
ONE_SOURCE = settings_from({"sources": {"zendesk": {}}})


def test_a_free_source_is_taken_until_the_ttl_passes(any_engine: Engine) -> None:
    lease = leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    assert (lease.holder, lease.acquired_at, lease.expires_at) == ("a", T0, T0 + TTL)
    assert leases.current_lease(any_engine, "zendesk") == lease


def test_a_held_lease_is_not_taken_by_another_holder(any_engine: Engine) -> None:
    leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    found = leases.try_take(any_engine, "zendesk", "b", TTL, T0 + TTL - timedelta(seconds=1))
    assert found.holder == "a"


def test_leases_of_two_sources_are_independent(any_engine: Engine) -> None:
    leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    assert leases.try_take(any_engine, "zendesk_emea", "b", TTL, T0).holder == "b"


def test_renewing_pushes_the_expiry_and_keeps_the_lease(any_engine: Engine) -> None:
    lease = leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    assert leases.renew(any_engine, lease, TTL, T0 + timedelta(minutes=8))
    # Past the first expiry, but not the renewed one.
    found = leases.try_take(any_engine, "zendesk", "b", TTL, T0 + timedelta(minutes=12))
    assert (found.holder, found.acquired_at) == ("a", T0)
    assert found.expires_at == T0 + timedelta(minutes=18)


def test_an_expired_lease_is_taken_over(any_engine: Engine) -> None:
    leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    found = leases.try_take(any_engine, "zendesk", "b", TTL, T0 + TTL)
    assert (found.holder, found.acquired_at) == ("b", T0 + TTL)


def test_a_lease_taken_over_cannot_be_renewed_or_released_by_its_old_holder(
    any_engine: Engine,
) -> None:
    old = leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    leases.try_take(any_engine, "zendesk", "b", TTL, T0 + TTL)
    assert not leases.renew(any_engine, old, TTL, T0 + TTL)
    leases.release(any_engine, old)
    current = leases.current_lease(any_engine, "zendesk")
    assert current is not None and current.holder == "b"


def test_a_released_lease_is_free_at_once(any_engine: Engine) -> None:
    lease = leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    leases.release(any_engine, lease)
    assert leases.current_lease(any_engine, "zendesk") is None
    assert leases.try_take(any_engine, "zendesk", "b", TTL, T0).holder == "b"


def test_of_holders_taking_at_once_exactly_one_wins(any_engine: Engine) -> None:
    holders = [f"h{n}" for n in range(8)]
    won: list[str] = []
    start = threading.Barrier(len(holders))

    def take(holder: str) -> None:
        start.wait()
        if leases.try_take(any_engine, "zendesk", holder, TTL, T0).holder == holder:
            won.append(holder)

    threads = [threading.Thread(target=take, args=(h,)) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    current = leases.current_lease(any_engine, "zendesk")
    assert len(won) == 1 and current is not None and current.holder == won[0]


class FakeClock:
    """A clock that moves only when slept on."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_taking_waits_for_a_lease_to_expire_then_takes_it(any_engine: Engine) -> None:
    leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    clock = FakeClock(T0 + timedelta(minutes=9))
    lease = leases.take(any_engine, "zendesk", TTL, 120, clock=clock, sleep=clock.sleep)
    assert lease.holder != "a" and lease.acquired_at >= T0 + TTL
    assert sum(clock.slept) <= 120


def test_a_lease_still_held_after_the_wait_names_its_holder_run_and_since_when(
    any_engine: Engine,
) -> None:
    leases.try_take(any_engine, "zendesk", "web1:4242:abc123", TTL, T0)
    run_id = start_run(any_engine, "backfill", "zendesk", "web1:4242:abc123")
    clock = FakeClock(T0 + timedelta(minutes=1))
    with pytest.raises(LeaseHeldError) as held:
        leases.take(any_engine, "zendesk", TTL, 30, clock=clock, sleep=clock.sleep)
    message = str(held.value)
    assert "web1:4242:abc123" in message and f"deskmetrics backfill, run {run_id}" in message
    assert "since 2026-11-02 09:00:00 UTC" in message and "leases.wait_seconds" in message
    assert 0 < sum(clock.slept) <= 30


def test_a_lease_of_a_process_of_this_machine_that_ended_is_taken_at_once(
    any_engine: Engine,
) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(timeout=60)
    leases.try_take(any_engine, "zendesk", f"{socket.gethostname()}:{ended.pid}:abc", TTL, T0)
    clock = FakeClock(T0 + timedelta(minutes=1))
    lease = leases.take(any_engine, "zendesk", TTL, 0, clock=clock, sleep=clock.sleep)
    assert lease.holder.startswith(f"{socket.gethostname()}:{os.getpid()}:")


def test_a_lease_of_a_live_process_or_another_machine_is_not_taken_early(
    any_engine: Engine,
) -> None:
    for holder in (f"{socket.gethostname()}:{os.getppid()}:abc", "elsewhere:1:abc"):
        leases.try_take(any_engine, "zendesk", holder, TTL, T0)
        clock = FakeClock(T0 + timedelta(minutes=1))
        with pytest.raises(LeaseHeldError):
            leases.take(any_engine, "zendesk", TTL, 0, clock=clock, sleep=clock.sleep)
        leases.release(any_engine, leases.Lease("zendesk", holder, T0, T0, T0))


def _run_statuses(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {row.run_id: row.status for row in conn.execute(select(runs))}


def test_taking_a_lease_closes_the_runs_of_its_dead_holder_as_abandoned(
    any_engine: Engine,
) -> None:
    leases.try_take(any_engine, "zendesk", "dead", TTL, T0)
    dead = start_run(any_engine, "sync", "zendesk", "dead")
    leases.try_take(any_engine, "zendesk_emea", "alive", TTL, T0)
    alive = start_run(any_engine, "sync", "zendesk_emea", "alive")
    leases.try_take(any_engine, "zendesk", "next", TTL, T0 + TTL)
    assert _run_statuses(any_engine) == {dead: "abandoned", alive: "running"}


def test_a_run_whose_lease_is_still_live_is_not_abandoned(any_engine: Engine) -> None:
    leases.try_take(any_engine, "zendesk", "a", TTL, T0)
    run_id = start_run(any_engine, "sync", "zendesk", "a")
    leases.try_take(any_engine, "zendesk", "b", TTL, T0 + TTL - timedelta(seconds=1))
    assert _run_statuses(any_engine) == {run_id: "running"}


def test_a_held_lease_taken_over_meanwhile_says_it_is_lost(any_engine: Engine) -> None:
    ttl = timedelta(seconds=0.3)  # a renewal every 0.1 s
    held = HeldLease(any_engine, leases.take(any_engine, "zendesk", ttl, 0), ttl)
    try:
        # Another process finds it expired (its clock is a day on) and takes it.
        later = datetime.now(UTC) + timedelta(days=1)
        assert leases.try_take(any_engine, "zendesk", "other", ttl, later).holder == "other"
        with pytest.raises(LeaseLostError, match=r"leases\.ttl_minutes"):
            for _ in range(600):
                held.check()
                threading.Event().wait(0.05)
    finally:
        held.release()
    current = leases.current_lease(any_engine, "zendesk")
    assert current is not None and current.holder == "other"


def test_a_killed_sync_is_closed_as_abandoned_by_the_next_one(tmp_path: Path) -> None:
    with served_desk(tmp_path, customers=100, tickets=300) as served:
        served.sandbox.inject("hang")
        child = subprocess.Popen(
            [sys.executable, "-m", "deskmetrics", "sync", "--config", str(served.settings_path)],
            env={**os.environ, **served.environ},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert served.sandbox.wait_for_hang(1, timeout=120)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            served.sandbox.release()
        assert list(_run_statuses(served.engine).values()) == ["running"]
        again = served.cli("sync")
        assert again.returncode == 0, again.stderr
        assert list(_run_statuses(served.engine).values()) == ["abandoned", "ok"]


def test_a_score_while_another_process_scores_leaves_the_days_dirty_for_later(
    any_engine: Engine,
) -> None:
    with any_engine.begin() as conn:
        mark_days(conn, "zendesk", [T0.date()])
    other = leases.try_take(any_engine, pipeline.SCORING_LEASE, "other", TTL, datetime.now(UTC))
    assert pipeline.score_when_free(any_engine, ONE_SOURCE, wait_seconds=0) is None
    assert dirty_days_of(any_engine, "zendesk") == [T0.date()]
    leases.release(any_engine, other)
    assert pipeline.score_when_free(any_engine, ONE_SOURCE, wait_seconds=0) == 0
    assert dirty_days_of(any_engine, "zendesk") == []


def test_a_lease_left_over_under_this_processs_own_id_is_taken_at_once(
    any_engine: Engine,
) -> None:
    # A release that failed, or a process that had this id before (PID 1 of a container
    # restarted): this process's id, and none of the leases it holds now.
    leftover = f"{socket.gethostname()}:{os.getpid()}:0ld001"
    leases.try_take(any_engine, "zendesk", leftover, TTL, T0)
    clock = FakeClock(T0 + timedelta(minutes=1))
    lease = leases.take(any_engine, "zendesk", TTL, 0, clock=clock, sleep=clock.sleep)
    assert lease.holder != leftover


def test_a_lease_another_thread_of_this_process_holds_is_not_taken(any_engine: Engine) -> None:
    with leases.holding(any_engine, "zendesk", TTL, 0), pytest.raises(LeaseHeldError):
        leases.take(any_engine, "zendesk", TTL, 0)


def test_a_stop_while_waiting_for_a_lease_ends_the_wait_as_stopped(any_engine: Engine) -> None:
    leases.try_take(any_engine, "zendesk", "elsewhere:1:abc", TTL, datetime.now(UTC))
    stop = threading.Event()
    stop.set()
    with pytest.raises(LeaseWaitStopped):
        leases.take(any_engine, "zendesk", TTL, 3600, stop)


def test_a_stop_while_waiting_for_the_scoring_lease_leaves_the_days_dirty(
    any_engine: Engine,
) -> None:
    with any_engine.begin() as conn:
        mark_days(conn, "zendesk", [T0.date()])
    leases.try_take(any_engine, pipeline.SCORING_LEASE, "elsewhere:1:abc", TTL, datetime.now(UTC))
    stop = threading.Event()
    stop.set()
    # Without the stop this would wait an hour for the other process.
    assert pipeline.score_when_free(any_engine, ONE_SOURCE, wait_seconds=3600, stop=stop) is None
    assert dirty_days_of(any_engine, "zendesk") == [T0.date()]


def test_sigterm_while_a_sync_waits_for_the_lease_exits_as_stopped(tmp_path: Path) -> None:
    with served_desk(tmp_path, customers=20, tickets=30) as served:
        path = served.settings_path
        path.write_text(path.read_text() + "[leases]\nwait_seconds = 600\n")
        leases.try_take(served.engine, "zendesk", "elsewhere:1:abc", TTL, datetime.now(UTC))
        child = subprocess.Popen(
            [sys.executable, "-m", "deskmetrics", "sync", "--config", str(path)],
            env={**os.environ, **served.environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stderr is not None
        for line in child.stderr:  # until it says it waits
            if "waiting up to 600 s for the lease" in line:
                break
        child.send_signal(signal.SIGTERM)
        stdout, _ = child.communicate(timeout=120)
    assert child.returncode == 75
    assert stdout.startswith("sync stopped early (stopped while waiting: source 'zendesk'")
