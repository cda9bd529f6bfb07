"""Faults injected into the Zendesk simulator behave as documented, and counters count."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from sandbox.desk import DeskSpec, generate_desk
from sandbox.zendesk import ZendeskSandbox

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
AUTH = ("demo@example.com/token", "sandbox-token")
USERS = "/api/v2/users.json"
TICKETS = "/api/v2/incremental/tickets/cursor.json"


@pytest.fixture
def sandbox() -> Iterator[ZendeskSandbox]:
    desk = generate_desk(DeskSpec(now=NOW, tickets=120, customers=40, days=10))
    with ZendeskSandbox(desk) as sb:
        yield sb


def get(sb: ZendeskSandbox, path: str = USERS, **params: Any) -> requests.Response:
    return requests.get(f"{sb.base_url}{path}", params=params, auth=AUTH, timeout=10)


def test_429_has_retry_after_and_a_plain_text_body(sandbox: ZendeskSandbox) -> None:
    sandbox.inject("429", retry_after=7)
    response = get(sandbox)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.text == "Too Many Requests"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert get(sandbox).status_code == 200


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_server_errors_have_json_bodies(sandbox: ZendeskSandbox, status: str) -> None:
    sandbox.inject(status, times=2)
    for _ in range(2):
        response = get(sandbox)
        assert response.status_code == int(status)
        assert "error" in response.json()
    assert get(sandbox).status_code == 200


def test_faults_are_fifo_and_match_paths(sandbox: ZendeskSandbox) -> None:
    sandbox.inject("503", path_contains="incremental")
    sandbox.inject("500")
    assert get(sandbox).status_code == 500  # the 503 waits for an export request
    assert get(sandbox, TICKETS, start_time=0).status_code == 503
    assert get(sandbox, TICKETS, start_time=0).status_code == 200
    assert (TICKETS, 503) in sandbox.served and (USERS, 500) in sandbox.served


def test_reset_drops_the_connection(sandbox: ZendeskSandbox) -> None:
    sandbox.inject("reset")
    with pytest.raises(requests.ConnectionError):
        get(sandbox)
    assert get(sandbox).status_code == 200
    assert (USERS, 0) in sandbox.served


def test_cut_sends_part_of_the_body(sandbox: ZendeskSandbox) -> None:
    sandbox.inject("cut")
    with pytest.raises(requests.RequestException):
        get(sandbox, TICKETS, start_time=0).json()
    assert get(sandbox, TICKETS, start_time=0).json()["tickets"]


def test_slow_answers_normally(sandbox: ZendeskSandbox) -> None:
    sandbox.inject("slow", delay=0.2)
    assert get(sandbox).status_code == 200


def test_hang_until_released(sandbox: ZendeskSandbox) -> None:
    sandbox.inject("hang")
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(get(sandbox).status_code))
    worker.start()
    assert sandbox.wait_for_hang(1, timeout=5)
    assert results == []
    sandbox.release()
    worker.join(timeout=5)
    assert results == [200]


def test_hang_ends_when_the_sandbox_stops() -> None:
    desk = generate_desk(DeskSpec(now=NOW, tickets=20, customers=10, days=3))
    sb = ZendeskSandbox(desk)
    sb.start()
    sb.inject("hang")
    errors: list[BaseException] = []

    def call() -> None:
        try:
            get(sb)
        except requests.RequestException as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    assert sb.wait_for_hang(1, timeout=5)
    sb.stop()
    worker.join(timeout=5)
    assert len(errors) == 1


def test_unknown_fault_kind_is_refused(sandbox: ZendeskSandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.inject("teapot")


def test_counters(sandbox: ZendeskSandbox) -> None:
    get(sandbox)
    get(sandbox, "/api/v2/users/show_many.json", ids="1,2")
    requests.get(f"{sandbox.base_url}{USERS}", timeout=10)  # unauthenticated
    assert sandbox.request_count == 3
    assert sandbox.requests_by_path == {USERS: 2, "/api/v2/users/show_many.json": 1}
    assert sandbox.served == [(USERS, 200), ("/api/v2/users/show_many.json", 200), (USERS, 401)]


def test_zenpy_sees_a_server_error(
    sandbox: ZendeskSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sandbox.base_url.split("//", 1)[1])
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    client = Zenpy(subdomain="acme", email="demo@example.com", token="sandbox-token")
    sandbox.inject("500", path_contains="cursor.json")
    with pytest.raises(APIException):
        list(client.tickets.incremental(start_time=0))
    assert len(list(client.tickets.incremental(start_time=0))) == 120
