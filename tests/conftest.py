"""Fixtures: paths, a real warehouse per test (SQLite, and PostgreSQL when a server is given),
and the recorded Zendesk responses in tests/fixtures (their origin: tests/fixtures/README.md)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import hypothesis
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests import desks
from tests.hostile_server import HostileServer, hostile_server
from warehouse.schema import open_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "fixtures" / "zendesk"


POSTGRES_URL = os.environ.get("DESKMETRICS_TEST_POSTGRES_URL")

# No example may fail for taking long: on a loaded machine (two test workers on two cores,
# or other work beside them) hypothesis' default 200 ms deadline fails correct code.
# In CI the examples are the same every run (derandomize): a submission lands or not on its
# own code; on a developer's machine they are drawn afresh, to find what CI would not.
hypothesis.settings.register_profile(
    "deskmetrics", deadline=None, derandomize=os.environ.get("CI") == "true"
)
hypothesis.settings.load_profile("deskmetrics")

# Workers per usable core for `-n auto` (pyproject.toml): many tests spend much of their
# time waiting, not computing (a child process starting, killed and resumed; a sandbox
# holding a request; a PostgreSQL server working), so one worker per core leaves the cores
# idle for that long; two per core keep them busy (CHANGELOG, issue 20: the measured times).
WORKERS_PER_CORE = 2


# Tests that run for ten seconds or more each (`pytest --durations=25`): run first, so that
# none of them starts near the end and runs alone while the other workers have nothing left
# (pyproject.toml hands the tests out in order, one at a time, as workers free up).
LONG_TESTS = {
    "test_a_sync_killed_at_any_page_resumes_to_identical_tables",
    "test_a_backfill_then_syncs_give_the_facts_of_one_backfill_of_the_whole",
    "test_a_bulk_backfill_killed_after_every_4_requests_finishes_with_every_cell_right",
    "test_any_split_of_a_desks_history_into_a_backfill_and_syncs_gives_the_same_facts",
    "test_any_order_and_any_repeat_of_pages_stores_the_same_rows",
    "test_two_workers_on_one_postgresql_sync_each_source_one_at_a_time",
    "test_scoring_any_split_of_days_in_any_order_gives_the_facts_of_score_all",
    "test_the_ledger_summed_per_source_agent_and_day_is_agent_day_facts",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: the long tests first, everything else in its usual order.
    items.sort(key=lambda item: getattr(item, "originalname", item.name) not in LONG_TESTS)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # The cores this process may use (a container's share), where the system tells them.
    usable = getattr(os, "sched_getaffinity", None)
    cores = len(usable(0)) if usable is not None else os.cpu_count() or 1
    return WORKERS_PER_CORE * cores


@pytest.fixture(autouse=True)
def one_desk_now_per_test() -> Iterator[None]:
    """Every desk a test generates has the same "now", however long the test runs."""
    desks.set_desk_now(datetime.now(UTC).replace(second=0, microsecond=0))
    yield
    desks.set_desk_now(None)


@pytest.fixture
def ours() -> Iterator[HostileServer]:
    """A misbehaving server on 127.0.0.1, the one a wire test's connector is pointed at."""
    with hostile_server() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a connector's retry policy asked for, recorded instead of slept."""
    return []


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh SQLite warehouse file."""
    return open_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same warehouse on SQLite and, where a server is given, on PostgreSQL.

    PostgreSQL runs in a fresh database per test; `.ci/run` starts the server and sets
    DESKMETRICS_TEST_POSTGRES_URL. Without it the PostgreSQL half is skipped.
    """
    if request.param == "sqlite":
        yield open_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
        return
    with _postgres_database() as url:
        engine = open_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (skipped without a server)."""
    with _postgres_database() as url:
        yield url


@contextmanager
def _postgres_database() -> Iterator[str]:
    # A database of its own per test, so tests may run in parallel on one server.
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server (set DESKMETRICS_TEST_POSTGRES_URL; .ci/run does)")
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


@pytest.fixture
def samples() -> Path:
    """The folder of recorded Zendesk responses, kept in the repository."""
    return SAMPLES
