"""Faults injected on demand into a simulated API, either face.

Owns the FIFO of pending faults (`FaultQueue`), the release switch of "hang" faults, and
what a test does with them (`InjectsFaults`, which both sandboxes are).
A sandbox asks `take(path)` for every request and acts on what it gets, each face in its
own way (its error bodies); a "hang" it hands back to `hang`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = frozenset({"429", "500", "502", "503", "reset", "slow", "cut", "hang"})


@dataclass
class Fault:
    kind: str
    times: int
    path_contains: str | None
    retry_after: int
    delay: float


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._release = threading.Event()
        self._hanging = 0
        self._changed = threading.Condition(self._lock)

    def add(
        self, kind: str, times: int, path_contains: str | None, retry_after: int, delay: float
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}: choose one of {sorted(KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(Fault(kind, times, path_contains, retry_after, delay))

    def take(self, path: str) -> Fault | None:
        """The first pending fault that matches `path`, used up once."""
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def release_event(self) -> threading.Event:
        with self._lock:
            return self._release

    def hang_started(self) -> None:
        with self._changed:
            self._hanging += 1
            self._changed.notify_all()

    def hang_ended(self) -> None:
        with self._changed:
            self._hanging -= 1
            self._changed.notify_all()

    def hang(self, stopping: threading.Event) -> bool:
        """Hold a request on a "hang" fault until released: True, or until the server
        stops: False (the caller then drops the connection)."""
        release = self.release_event()
        self.hang_started()
        try:
            while not release.wait(0.05) and not stopping.is_set():
                pass
        finally:
            self.hang_ended()
        return not stopping.is_set()

    def wait_hanging(self, count: int, timeout: float) -> bool:
        """Wait until `count` requests are hanging; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._hanging >= count, timeout)

    def wait_none_hanging(self, timeout: float) -> bool:
        """Wait until no request hangs (those let go have finished); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._hanging == 0, timeout)

    def release(self) -> None:
        """Let every request hanging now go on."""
        with self._lock:
            event, self._release = self._release, threading.Event()
        event.set()


class InjectsFaults:
    """What a test does with a sandbox's wire faults, the same for either face: each face
    takes them from its `faults` and answers them its own way."""

    faults: FaultQueue

    def inject(
        self,
        kind: str,
        times: int = 1,
        path_contains: str | None = None,
        retry_after: int = 1,
        delay: float = 0.5,
    ) -> None:
        """Make the next `times` matching requests fail as `kind` (one of `KINDS`; FIFO with
        other faults)."""
        self.faults.add(kind, times, path_contains, retry_after, delay)

    def release(self) -> None:
        """Let requests blocked by "hang" faults go on."""
        self.faults.release()

    def wait_for_hang(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until `count` requests hang on a "hang" fault (for tests); False on timeout."""
        return self.faults.wait_hanging(count, timeout)

    def release_all(self, timeout: float = 5.0) -> bool:
        """Let hanging requests go on, drop every fault still waiting, and wait until no
        request hangs any more (for tests that start again); False on timeout."""
        self.faults.clear()
        self.faults.release()
        return self.faults.wait_none_hanging(timeout)
