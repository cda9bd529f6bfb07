"""Shared fixtures: paths, a real SQLite warehouse per test, and the shared samples."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from warehouse.schema import open_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples" / "zendesk"


POSTGRES_URL = os.environ.get("DESKMETRICS_TEST_POSTGRES_URL")


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
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server (set DESKMETRICS_TEST_POSTGRES_URL; .ci/run does)")
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.fail(f"the shared samples are missing at {SAMPLES}: clone with ../shared beside")
    return SAMPLES
