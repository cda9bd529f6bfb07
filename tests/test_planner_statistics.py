"""Planner statistics before a score (warehouse/planner_statistics.py): on PostgreSQL a
table autovacuum has not analyzed yet is analyzed before the score reads it, so the score
is planned with what is stored; SQLite is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from deskmetrics import pipeline
from deskmetrics.settings import Settings
from interactions import Interaction
from warehouse.planner_statistics import SCORED_TABLES, refresh_statistics, stale
from warehouse.schema import open_engine
from warehouse.upserts import store_records

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICKETS = 200


def _ticket(n: int) -> Interaction:
    return Interaction(
        "zendesk", str(n), T0 + timedelta(minutes=n), T0 + timedelta(hours=1), "open",
        False, False, f"c{n % 40}", "a1", None,
    )  # fmt: skip


def _desk(engine: Engine) -> None:
    with engine.begin() as conn:
        store_records(conn, [_ticket(n) for n in range(TICKETS)], T0)


def _rows_planned(engine: Engine, table: str) -> float:
    with engine.connect() as conn:
        query = text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)")
        return float(conn.execute(query, {"table": table}).scalar_one())


def test_a_table_never_analyzed_is_stale() -> None:
    assert stale(-1, 0)


def test_a_table_changed_by_less_than_its_threshold_is_not_stale() -> None:
    assert not stale(1_000, 50 + 100)


def test_a_table_changed_by_more_than_its_threshold_is_stale() -> None:
    assert stale(1_000, 50 + 101)


def test_a_score_on_postgresql_first_analyzes_tables_never_analyzed(
    postgres_database_url: str,
) -> None:
    engine = open_engine(postgres_database_url)
    try:
        _desk(engine)
        assert _rows_planned(engine, "interactions") < 0  # never analyzed: no statistics
        pipeline.score(engine, Settings(), everything=True)
        assert _rows_planned(engine, "interactions") == TICKETS
    finally:
        engine.dispose()


def test_tables_analyzed_with_no_writes_since_are_not_analyzed_again(
    postgres_database_url: str,
) -> None:
    engine = open_engine(postgres_database_url)
    try:
        assert len(refresh_statistics(engine)) == len(SCORED_TABLES)  # never analyzed
        assert refresh_statistics(engine) == []
    finally:
        engine.dispose()


def test_sqlite_is_left_without_statistics(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/warehouse.sqlite")
    try:
        _desk(engine)
        assert refresh_statistics(engine) == []
        with engine.connect() as conn:
            found = text("SELECT count(*) FROM sqlite_master WHERE name LIKE 'sqlite_stat%'")
            assert conn.execute(found).scalar_one() == 0
    finally:
        engine.dispose()
