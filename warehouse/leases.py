"""Leases: which process may write a source now, one `leases` row per source.

`sync`, `backfill` and the scheduler's jobs take a source's lease before they read it and
release it when they are done; while they work, a heartbeat renews it. A holder that dies
stops renewing, and its lease expires `ttl` after the last renewal: then anyone may take
it over (at once when it ran on this machine and its process is gone). So two processes
never write one source at once, and several `deskmetrics run`
workers sharing one PostgreSQL split the sources between them with no other coordinator.

Taking is one statement, atomic on SQLite and PostgreSQL: an insert that, on the source's
key, replaces the row only when the lease there has expired or is the taker's own; the
row read back in the same transaction says who holds it now. A holder name
(`host:pid:random`) is new for every lease taken, so two threads of one process exclude
each other too.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError

from interactions import DeskmetricsError
from warehouse.row_upsert import dialect_insert
from warehouse.runs import close_abandoned_runs
from warehouse.schema import leases, runs

log = logging.getLogger(__name__)

# A waiting process looks again at least this often (a released lease is free at once).
POLL_SECONDS = 2.0
# Renewals per ttl: a holder survives two missed renewals (a busy database, a long page).
RENEWALS_PER_TTL = 3

# The holders of the leases this process holds now. A lease naming this process's id and
# none of these is left over: a release that failed (the database was away), or a process
# that had the same id before (a container's `deskmetrics run` is PID 1 after each restart).
_HELD_HERE: set[str] = set()
_HELD_HERE_LOCK = threading.Lock()


class LeaseHeldError(DeskmetricsError):
    """Another process holds the source's lease, and waiting for it did not end it.

    `held_by` says who holds it and since when, in a few words (a worker that skips the
    run logs just that)."""

    def __init__(self, message: str, held_by: str) -> None:
        super().__init__(message)
        self.held_by = held_by


class LeaseWaitStopped(LeaseHeldError):
    """A stop (SIGTERM, Ctrl-C) was asked for while waiting for a held lease: nothing was
    read, and the command ends as stopped, not failed."""

    def __init__(self, held_by: str) -> None:
        super().__init__(f"stopped while waiting for the lease: {held_by}", held_by)


class LeaseLostError(DeskmetricsError):
    """This process's lease expired and another process took the source over."""


@dataclass(frozen=True)
class Lease:
    """One `leases` row: who may write `source`, since when, and until when unless renewed."""

    source: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


def new_holder() -> str:
    """A name for one lease: where it runs (host and process) and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def try_take(
    engine: Engine,
    source: str,
    holder: str,
    ttl: timedelta,
    now: datetime,
    dead_holder: str | None = None,
) -> Lease:
    """Take (or renew) `source`'s lease for `holder` if it is free, expired, already
    theirs, or held by `dead_holder` (a process known to be gone); the lease as it stands
    afterwards, whoever holds it.

    A taker that wins also closes the runs a dead holder left `running` (they are
    `abandoned`: their holder's lease is gone).
    """
    with engine.begin() as conn:
        statement = dialect_insert(conn, leases).values(
            source=source, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl
        )
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.source],
            set_={
                "holder": excluded.holder,
                "acquired_at": excluded.acquired_at,
                "renewed_at": excluded.renewed_at,
                "expires_at": excluded.expires_at,
            },
            # The existing row is replaced only when its lease is over or is the taker's.
            where=or_(
                leases.c.expires_at <= now,
                leases.c.holder == holder,
                leases.c.holder == (dead_holder or holder),
            ),
        )
        conn.execute(statement)
        lease = _lease_of(conn, source)
        assert lease is not None  # the row was just inserted or kept
        if lease.holder == holder:
            closed = close_abandoned_runs(conn, now, source)
            if closed:
                log.warning(
                    "%s: closed %d run(s) left running by a process that died as abandoned",
                    source,
                    closed,
                )
    return lease


def renew(engine: Engine, lease: Lease, ttl: timedelta, now: datetime) -> bool:
    """Push the lease's expiry to `now + ttl`; False if `lease.holder` no longer holds it."""
    with engine.begin() as conn:
        changed = conn.execute(
            leases.update()
            .where(leases.c.source == lease.source, leases.c.holder == lease.holder)
            .values(renewed_at=now, expires_at=now + ttl)
        ).rowcount
    return bool(changed)


def release(engine: Engine, lease: Lease) -> None:
    """Give the source free (only if `lease.holder` still holds it)."""
    with engine.begin() as conn:
        conn.execute(
            leases.delete().where(leases.c.source == lease.source, leases.c.holder == lease.holder)
        )


def current_lease(engine: Engine, source: str) -> Lease | None:
    """The source's lease row, expired or not; None when nobody has held it or it was released."""
    with engine.connect() as conn:
        return _lease_of(conn, source)


def take(
    engine: Engine,
    source: str,
    ttl: timedelta,
    wait_seconds: float,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """`source`'s lease for a new holder, waiting up to `wait_seconds` for it to be free.

    A `LeaseHeldError` names the holder, what it runs and since when, if the lease is
    still held after the wait (or a stop is asked for meanwhile). `clock` and `sleep` are
    replaced in tests so that they never wait.
    """
    clock = clock or _utc_now
    holder = new_holder()
    # Known as this process's own from before it can win: another thread that reads the
    # row in between must not take it for a left-over lease.
    with _HELD_HERE_LOCK:
        _HELD_HERE.add(holder)
    try:
        return _take_as(engine, source, holder, ttl, wait_seconds, stop, clock, sleep)
    except BaseException:
        with _HELD_HERE_LOCK:
            _HELD_HERE.discard(holder)
        raise


def _take_as(
    engine: Engine,
    source: str,
    holder: str,
    ttl: timedelta,
    wait_seconds: float,
    stop: threading.Event | None,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> Lease:
    started = clock()
    give_up = started + timedelta(seconds=wait_seconds)
    told = False
    while True:
        now = clock()
        lease = try_take(engine, source, holder, ttl, now)
        if lease.holder != holder and gone_from_this_machine(lease.holder):
            log.warning(
                "%s: the lease holder %s was a process of this machine that has ended; "
                "taking the source over",
                source,
                lease.holder,
            )
            lease = try_take(engine, source, holder, ttl, now, dead_holder=lease.holder)
        if lease.holder == holder:
            return lease
        if stop is not None and stop.is_set():
            raise LeaseWaitStopped(_held(engine, lease, wait_seconds).held_by)
        if now >= give_up:
            raise _held(engine, lease, wait_seconds)
        if not told:
            log.info(
                "%s: waiting up to %g s for the lease of %s", source, wait_seconds, lease.holder
            )
            told = True
        pause = min(
            POLL_SECONDS,
            (give_up - now).total_seconds(),
            max((lease.expires_at - now).total_seconds(), 0.0),
        )
        pause = max(pause, 0.01)
        if stop is not None:
            stop.wait(pause)
        else:
            sleep(pause)


def gone_from_this_machine(holder: str) -> bool:
    """Whether `holder` names a process of this machine (same host name) that has ended.

    A killed `sync` need not block the next one for a whole ttl. Host names tell machines
    and containers apart (a container's is its id unless set by hand); a process id
    reused since then by another process only means waiting for the expiry, as for another
    machine. This process's own id names a lease of another thread of it only while that
    lease is held (`_HELD_HERE`); otherwise the lease is left over, and ended.
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if os.name != "posix" or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        with _HELD_HERE_LOCK:
            return holder not in _HELD_HERE  # not one of this process's leases: left over
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check that the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user's process
    return False


class HeldLease:
    """A lease this process holds (as `take` gave it: its holder is counted among this
    process's, `_HELD_HERE`), renewed by a heartbeat thread until it is released.

    `check()` raises `LeaseLostError` once a renewal found the lease taken over (it had
    expired: the database was unreachable for longer than the ttl, say).
    """

    def __init__(self, engine: Engine, lease: Lease, ttl: timedelta) -> None:
        self.engine = engine
        self.lease = lease
        self.ttl = ttl
        self._lost = threading.Event()
        self._done = threading.Event()
        self._beat = threading.Thread(
            target=self._renew_until_done, name=f"lease-{lease.source}", daemon=True
        )
        self._beat.start()

    @property
    def holder(self) -> str:
        return self.lease.holder

    def check(self) -> None:
        if self._lost.is_set():
            raise LeaseLostError(
                f"source {self.lease.source!r}: this process ({self.holder}) lost its lease: "
                f"it was not renewed within leases.ttl_minutes ({self.ttl.total_seconds() / 60:g}) "
                "and another process took the source over. Nothing is lost (every stored page "
                "kept its cursor); if the database was slow or unreachable, raise "
                "leases.ttl_minutes."
            )

    def release(self) -> None:
        self._done.set()
        self._beat.join()
        with _HELD_HERE_LOCK:
            _HELD_HERE.discard(self.lease.holder)  # left over if the row stays: taken over
        if self._lost.is_set():
            return
        try:
            release(self.engine, self.lease)
        except SQLAlchemyError as failed:
            # Never in place of the error the run may be ending with: the lease expires.
            log.warning(
                "%s: could not release the lease (%s); it expires within leases.ttl_minutes",
                self.lease.source,
                failed,
            )

    def _renew_until_done(self) -> None:
        interval = self.ttl.total_seconds() / RENEWALS_PER_TTL
        while not self._done.wait(interval):
            try:
                if not renew(self.engine, self.lease, self.ttl, _utc_now()):
                    self._lost.set()
                    return
            except SQLAlchemyError as failed:
                # The next renewal may get through; `check` tells the worker if it does not.
                log.warning("%s: could not renew the lease: %s", self.lease.source, failed)


@contextmanager
def holding(
    engine: Engine,
    source: str,
    ttl: timedelta,
    wait_seconds: float,
    stop: threading.Event | None = None,
) -> Iterator[HeldLease]:
    """`source`'s lease for the block, renewed while it runs and released at its end."""
    held = HeldLease(engine, take(engine, source, ttl, wait_seconds, stop), ttl)
    try:
        yield held
    finally:
        held.release()


def _held(engine: Engine, lease: Lease, wait_seconds: float) -> LeaseHeldError:
    with engine.connect() as conn:
        run = conn.execute(
            select(runs.c.run_id, runs.c.command)
            .where(runs.c.holder == lease.holder, runs.c.status == "running")
            .order_by(runs.c.run_id.desc())
        ).first()
    doing = f" (deskmetrics {run.command}, run {run.run_id})" if run is not None else ""
    held_by = (
        f"source {lease.source!r} is being written by {lease.holder}{doing} since "
        f"{_shown(lease.acquired_at)}"
    )
    return LeaseHeldError(
        f"{held_by}; its lease was last renewed at {_shown(lease.renewed_at)}. Waited "
        f"{wait_seconds:g} s (leases.wait_seconds). Run this again when that one has "
        "finished, or raise leases.wait_seconds; if that process has died, its lease expires "
        f"at {_shown(lease.expires_at)} and the source is free again.",
        held_by,
    )


def _shown(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _lease_of(conn: Connection, source: str) -> Lease | None:
    row = conn.execute(select(leases).where(leases.c.source == source)).first()
    return Lease(**row._mapping) if row is not None else None


def _utc_now() -> datetime:
    return datetime.now(UTC)
