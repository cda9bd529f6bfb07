"""Shared fixtures: paths, a real SQLite warehouse per test, and the shared samples."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from warehouse.schema import open_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples" / "zendesk"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh SQLite warehouse file."""
    return open_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.fail(f"the shared samples are missing at {SAMPLES}: clone with ../shared beside")
    return SAMPLES
