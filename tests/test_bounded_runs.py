"""Bounded runs: a connect timeout of its own, retries bounded by the time they take, a
bound on one run's total time, and a stop that ends a run after the page in hand."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import select

from connectors.http import RetryPolicy
from connectors.zendesk import Page, ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from deskmetrics import pipeline, pull
from deskmetrics.settings import Settings
from interactions import SourceUnavailableError
from sandbox.desk import truth as desk_truth
from tests.desks import TINY, TOKEN_ENV, Served, served_desk
from warehouse.cursors import load_cursor
from warehouse.schema import runs, sync_state


@pytest.fixture
def never_accepting() -> Iterator[str]:
    """The address of a server whose connection queue is full: a connection is never
    accepted (what a firewall that drops packets, or an overloaded server, looks like)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers = []
    for _ in range(4):  # more than the queue holds: the next SYN is dropped
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    try:
        yield f"http://{address[0]}:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def _connector(base_url: str, **policy: Any) -> ZendeskConnector:
    config = ZendeskConfig(
        "zendesk", "acme", "demo@example.com", "sandbox-token", base_url=base_url
    )
    return ZendeskConnector(config, RetryPolicy(sleep=lambda _s: None, **policy))


def test_a_connection_never_accepted_fails_on_the_connect_timeout_naming_the_url(
    never_accepting: str,
) -> None:
    # A read timeout far longer than the test may take: only the connect timeout ends it.
    with (
        _connector(never_accepting, connect_timeout_seconds=0.2, timeout_seconds=600.0) as ours,
        pytest.raises(SourceUnavailableError) as failed,
    ):
        next(ours.agent_pages())
    message = str(failed.value)
    assert f"GET {never_accepting}/api/v2/users.json was not accepted within 0.2 s" in message
    assert "http.connect_timeout_seconds" in message and "?" not in message


def test_retries_of_a_server_that_never_answers_are_bounded_by_the_time_they_take(
    tmp_path: Path,
) -> None:
    # Backoff sleeps alone (a hundredth of a second each) would allow a hundred tries; the
    # tries themselves, a timeout each, use the budget up after a few.
    with served_desk(tmp_path, **TINY) as served:
        served.sandbox.inject("hang", times=1000)
        with (
            _connector(
                served.sandbox.base_url,
                timeout_seconds=0.2,
                max_attempts=1000,
                max_wait_seconds=1.0,
                backoff_initial_seconds=0.01,
                backoff_max_seconds=0.01,
            ) as ours,
            pytest.raises(SourceUnavailableError) as failed,
        ):
            next(ours.agent_pages())
        tries, base_url = served.sandbox.request_count, served.sandbox.base_url
    message = str(failed.value)
    assert "http.max_wait_seconds" in message
    assert f"GET {base_url}/api/v2/users.json sent no answer" in message
    assert tries <= 10, f"{tries} tries"


def _settings_text(served: Served, http: str, sync: str) -> str:
    return f"""
[database]
url = "sqlite:///{served.settings_path.parent / "bounded.sqlite"}"
[http]
{http}
[sync]
{sync}
[sources.zendesk]
base_url = "{served.sandbox.base_url}"
email = "demo@example.com"
token_env = "{TOKEN_ENV}"
"""


def test_a_hung_server_ends_a_sync_within_the_run_bound_with_an_error_naming_the_url(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sandbox.inject("hang", times=10_000)
        settings = tmp_path / "bounded.toml"
        # Neither the tries nor the retry budget would end it: only the run's bound (3 s).
        settings.write_text(
            _settings_text(
                served,
                "connect_timeout_seconds = 1.0\ntimeout_seconds = 0.5\nmax_attempts = 100000\n"
                "max_wait_seconds = 100000.0",
                "max_run_minutes = 0.05",
            )
        )
        finished = subprocess.run(
            [sys.executable, "-m", "deskmetrics", "sync", "--config", str(settings)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **served.environ},
        )
        base_url = served.sandbox.base_url
    assert finished.returncode == 1
    error = finished.stderr.splitlines()[-1]
    assert error.startswith("Error: ") and "sync.max_run_minutes" in error
    assert f"GET {base_url}/api/v2/users.json sent no answer" in error


def _bounded(settings: Settings, minutes: float) -> Settings:
    return settings.model_copy(
        update={"sync": settings.sync.model_copy(update={"max_run_minutes": minutes})}
    )


def _runs(served: Served) -> list[tuple[str, str]]:
    with served.engine.connect() as conn:
        return [
            (r.status, r.detail or "") for r in conn.execute(select(runs).order_by(runs.c.run_id))
        ]


def _report(served: Served) -> list[dict[str, Any]]:
    since, until = served.period()
    return [asdict(r) for r in pipeline.report(served.engine, served.settings, since, until)]


def test_a_sync_past_its_time_bound_stops_after_the_page_in_hand_with_its_cursor_saved(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served, patch.dict(os.environ, served.environ):
        # The first page (the agents) takes longer than the whole run may.
        served.sandbox.inject("slow", path_contains="users", delay=0.5)
        with pytest.raises(pull.RunTimeLimitError, match=r"sync\.max_run_minutes"):
            pipeline.sync(served.engine, _bounded(served.settings, 0.005), policy=served.policy())
        assert load_cursor(served.engine, "zendesk", "agents") is not None
        assert load_cursor(served.engine, "zendesk", "tickets") is None
        with served.engine.connect() as conn:
            errors = {r.stream: r.last_error for r in conn.execute(select(sync_state))}
        assert "sync.max_run_minutes" in (errors["agents"] or "")
        pipeline.sync(served.engine, served.settings, policy=served.policy())
        since, until = served.period()
        assert _report(served) == desk_truth.report_rows(served.desk, since, until)
    statuses = _runs(served)
    assert [status for status, _ in statuses] == ["failed", "ok"]
    assert "sync.max_run_minutes" in statuses[0][1]


def test_a_stop_ends_a_sync_after_the_page_in_hand_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    stop = threading.Event()
    stored: list[str] = []

    def stop_after_the_first_page(stream: str, _page: Page, _until: datetime | None) -> None:
        stored.append(stream)
        stop.set()

    with served_desk(tmp_path, **TINY) as served, patch.dict(os.environ, served.environ):
        results = pipeline.sync(
            served.engine,
            served.settings,
            progress=stop_after_the_first_page,
            policy=served.policy(),
            stop=stop,
        )
        assert [r.stopped for r in results] == [True] and stored == ["agents"]
        assert load_cursor(served.engine, "zendesk", "tickets") is None
        pipeline.sync(served.engine, served.settings, policy=served.policy())
        since, until = served.period()
        assert _report(served) == desk_truth.report_rows(served.desk, since, until)
    assert [status for status, _ in _runs(served)] == ["stopped", "ok"]


def test_a_stop_during_a_retry_wait_makes_no_new_try_and_ends_the_run_as_stopped(
    tmp_path: Path,
) -> None:
    stop = threading.Event()
    with served_desk(tmp_path, **TINY) as served, patch.dict(os.environ, served.environ):
        served.sandbox.inject("503", times=50, path_contains="users")
        # The stop comes while the run waits to try the agents page again.
        policy = replace(served.policy(), sleep=lambda _seconds: stop.set())
        results = pipeline.sync(served.engine, served.settings, policy=policy, stop=stop)
        tries = served.sandbox.requests_by_path["/api/v2/users.json"]
    assert [r.stopped for r in results] == [True] and tries == 1
    assert [status for status, _ in _runs(served)] == ["stopped"]
