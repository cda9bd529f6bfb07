"""Schema revisions on SQLite and PostgreSQL: a database of release 1 keeps every row through
the upgrade and ends with the schema of a new one; databases stamped before Alembic are
adopted; one newer than the code is refused; two processes may create one at once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from interactions import WarehouseError
from tests.conftest import POSTGRES_URL
from tests.desks import run_cli
from tests.fixtures import schema_v1
from warehouse import schema
from warehouse.migrations import HEAD, SCRIPTS, SchemaChange
from warehouse.schema import connect, upgrade_database
from warehouse.views import VIEW_NAMES

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
LATER = datetime(2025, 11, 4, 17, 5, 59, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes new, empty databases of one dialect and gives their URLs (PostgreSQL: a
    database of its own each, dropped after the test; skipped without a server)."""
    if request.param == "sqlite":
        files = iter(range(1000))
        yield lambda: f"sqlite:///{tmp_path / f'warehouse{next(files)}.sqlite'}"
        return
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server (set DESKMETRICS_TEST_POSTGRES_URL; .ci/run does)")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def new() -> str:
        made.append(f"dm_test_{uuid.uuid4().hex[:12]}")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{made[-1]}"'))
        return make_url(POSTGRES_URL).set(database=made[-1]).render_as_string(False)

    yield new
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_url(new_database: Callable[[], str]) -> str:
    return new_database()


# Two rows per table of release 1, at its column bounds and with empty optional columns.
V1_ROWS: dict[str, list[dict[str, Any]]] = {
    "agents": [
        {"source": "zendesk", "agent_id": "7" * 64, "name": "Ann Ö", "email": "ann@example.com",
         "role": "admin", "active": True, "updated_at": AT, "seen_at": LATER},
        {"source": "zendesk", "agent_id": "8", "name": None, "email": None, "role": None,
         "active": False, "updated_at": None, "seen_at": AT},
    ],
    "interactions": [
        {"source": "zendesk", "interaction_id": "101", "created_at": AT, "updated_at": LATER,
         "status": "s" * 32, "resolved": True, "deleted": False, "customer_id": "c1",
         "owner_id": "7" * 64, "group_id": "g1", "solved_at": LATER, "reopens": 1,
         "assignee_stations": 2},
        {"source": "zendesk", "interaction_id": "102", "created_at": AT, "updated_at": AT,
         "status": "open", "resolved": False, "deleted": True, "customer_id": None,
         "owner_id": None, "group_id": None, "solved_at": None, "reopens": None,
         "assignee_stations": None},
    ],
    "ownership_changes": [
        {"source": "zendesk", "change_id": "e1", "interaction_id": "101", "update_id": "u1",
         "at": AT, "previous_owner": None, "new_owner": "8"},
        {"source": "zendesk", "change_id": "e2", "interaction_id": "101", "update_id": "u2",
         "at": LATER, "previous_owner": "8", "new_owner": "7" * 64},
    ],
    "status_changes": [
        {"source": "zendesk", "change_id": "e3", "interaction_id": "101", "update_id": "u2",
         "at": LATER, "previous_status": "open", "new_status": "solved",
         "previous_resolved": False, "resolved": True},
        {"source": "zendesk", "change_id": "e4", "interaction_id": "102", "update_id": "u3",
         "at": AT, "previous_status": None, "new_status": "new", "previous_resolved": None,
         "resolved": False},
    ],
    "ratings": [
        {"source": "zendesk", "rating_id": "r1", "interaction_id": "101", "survey_id": "s1",
         "agent_id": "7" * 64, "score": "good", "comment": "thanks\nsee you",
         "created_at": LATER, "updated_at": LATER},
        {"source": "zendesk", "rating_id": "r2", "interaction_id": "102", "survey_id": "s1",
         "agent_id": None, "score": "bad", "comment": None, "created_at": AT,
         "updated_at": None},
    ],
    "agent_day_facts": [
        {"source": "zendesk", "agent_id": "7" * 64, "day": date(2025, 11, 4), "handled": 1,
         "transferred_out": 0, "resolved": 1, "fcr_eligible": 1, "fcr": 1,
         "csat_responses": 1, "csat_satisfied": 1, "csat_score_sum": 100.0,
         "computed_at": LATER},
        {"source": "zendesk", "agent_id": "", "day": date(2025, 11, 3), "handled": 0,
         "transferred_out": 0, "resolved": 0, "fcr_eligible": 0, "fcr": 0,
         "csat_responses": 1, "csat_satisfied": 0, "csat_score_sum": 0.0, "computed_at": AT},
    ],
    "dirty_days": [
        {"source": "zendesk", "day": date(2025, 11, 3)},
        {"source": "zendesk", "day": date(2025, 11, 4)},
    ],
    "sync_state": [
        {"source": "zendesk", "stream": "tickets", "cursor": '{"after": "abc"}',
         "high_water_mark": LATER, "updated_at": LATER, "last_success_at": LATER,
         "last_error": None},
        {"source": "zendesk", "stream": "backfill:2025-01-01:2025-02-01:ratings",
         "cursor": None, "high_water_mark": None, "updated_at": AT, "last_success_at": None,
         "last_error": "HTTP 500 from https://example.zendesk.com/api/v2/…"},
    ],
    "runs": [
        {"command": "sync", "source": "zendesk", "started_at": AT, "finished_at": LATER,
         "status": "ok", "pages": 3, "records": 2500, "requests": 4, "detail": None},
        {"command": "backfill", "source": None, "started_at": LATER, "finished_at": None,
         "status": "running", "pages": 0, "records": 0, "requests": 0, "detail": "{}"},
    ],
}  # fmt: skip


@pytest.fixture
def v1_url(empty_url: str) -> str:
    """A database made by release 1, filled with `V1_ROWS`."""
    with opened(empty_url) as engine:
        schema_v1.create_v1_database(engine)
        with engine.begin() as conn:
            for table in schema_v1.metadata.sorted_tables:
                if table.name != "schema_version":
                    conn.execute(table.insert(), V1_ROWS[table.name])
    return empty_url


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    """An engine on `url` that does no schema work, disposed after."""
    engine = connect(url)
    try:
        yield engine
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    with opened(url) as engine, engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def upgrade(url: str) -> SchemaChange:
    engine, change = upgrade_database(url)
    engine.dispose()
    return change


def table_rows(url: str, name: str) -> list[dict[str, Any]]:
    """The rows of a table read through today's schema, in key order."""
    table = schema.metadata.tables[name]
    with opened(url) as engine, engine.connect() as conn:
        rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
    return [dict(row._mapping) for row in rows]


def in_key_order(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if name == "runs":
        return rows  # keyed by insertion order
    key = [c.name for c in schema.metadata.tables[name].primary_key]
    return sorted(rows, key=lambda row: [row[c] for c in key])


def reflected(url: str) -> dict[str, Any]:
    """What a reader of the database sees: tables with their columns (type, nullable,
    key, generated SQL) and indexes, and the views with their columns."""
    found: dict[str, Any] = {}
    with opened(url) as engine, engine.connect() as conn:
        seen = inspect(conn)
        for name in sorted(seen.get_table_names()):
            found[name] = {
                "columns": [
                    (
                        c["name"],
                        str(c["type"]),
                        c["nullable"],
                        (c.get("computed") or {}).get("sqltext"),
                    )
                    for c in seen.get_columns(name)
                ],
                "key": seen.get_pk_constraint(name)["constrained_columns"],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in seen.get_indexes(name)
                ),
            }
        for name in sorted(seen.get_view_names()):
            found[f"view {name}"] = [(c["name"], str(c["type"])) for c in seen.get_columns(name)]
    return found


def migrate(url: str, revision: str) -> None:
    """Run the revisions up to `revision` with the alembic command, as a developer would."""
    with opened(url) as engine, engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def fresh_schema(url: str) -> dict[str, Any]:
    assert upgrade(url) == SchemaChange(None, HEAD)
    return reflected(url)


def test_head_is_the_newest_revision_in_versions() -> None:
    assert ScriptDirectory(str(SCRIPTS)).get_heads() == [HEAD]


def test_every_row_of_a_release_1_database_is_kept_by_the_upgrade(v1_url: str) -> None:
    change = upgrade(v1_url)

    assert change == SchemaChange("0001", HEAD, legacy_version=1)
    for name, rows in V1_ROWS.items():
        stored = [{column: row[column] for column in rows[0]} for row in table_rows(v1_url, name)]
        assert stored == in_key_order(name, rows), name


def test_new_columns_of_upgraded_rows_are_empty_or_generated(v1_url: str) -> None:
    upgrade(v1_url)

    tokens = [r["token"] for r in table_rows(v1_url, "dirty_days")]
    scales = [(r["scale_max"], r["category"]) for r in table_rows(v1_url, "ratings")]
    holders = [r["holder"] for r in table_rows(v1_url, "runs")]
    starts = [(r["week_start"], r["month_start"]) for r in table_rows(v1_url, "agent_day_facts")]

    assert (tokens, scales, holders) == ([None, None], [(None, None)] * 2, [None, None])
    assert starts == [(date(2025, 11, 3), date(2025, 11, 1))] * 2


def test_an_upgraded_database_goes_on_counting_runs_and_takes_long_text(v1_url: str) -> None:
    upgrade(v1_url)
    runs = schema.metadata.tables["runs"]

    with opened(v1_url) as engine, engine.begin() as conn:
        conn.execute(schema.interactions.update().values(status="x" * 200))
        new_run = conn.execute(
            runs.insert().values(command="sync", started_at=LATER, status="ok", holder="h")
        ).inserted_primary_key

    assert new_run is not None and tuple(new_run) == (3,)
    assert {r["status"] for r in table_rows(v1_url, "interactions")} == {"x" * 200}


def test_a_release_1_database_upgraded_has_the_schema_of_a_new_one(
    new_database: Callable[[], str],
) -> None:
    old = new_database()
    with opened(old) as engine:
        schema_v1.create_v1_database(engine)

    upgrade(old)

    assert reflected(old) == fresh_schema(new_database())


def test_every_revision_run_on_an_empty_database_gives_the_schema_of_a_new_one(
    new_database: Callable[[], str],
) -> None:
    migrated = new_database()
    migrate(migrated, "head")

    change = upgrade(migrated)  # makes the views, which are no revision's

    assert change == SchemaChange(HEAD, HEAD)
    assert reflected(migrated) == fresh_schema(new_database())


def test_the_baseline_revision_is_the_schema_of_release_1(
    new_database: Callable[[], str],
) -> None:
    released = new_database()
    with opened(released) as engine:
        schema_v1.create_v1_database(engine)
    execute(released, *(f"DROP VIEW {name}" for name in VIEW_NAMES))
    baseline = new_database()

    migrate(baseline, "0001")

    revision_0001 = reflected(baseline)
    assert revision_0001.pop("alembic_version")
    assert revision_0001 == reflected(released)


def test_a_database_at_an_older_revision_is_upgraded_in_place(
    new_database: Callable[[], str],
) -> None:
    older = new_database()
    migrate(older, "0002")

    change = upgrade(older)

    assert change == SchemaChange("0002", HEAD)
    assert reflected(older) == fresh_schema(new_database())


@pytest.mark.parametrize("legacy", [2, 3])
def test_a_database_stamped_before_alembic_is_adopted_and_upgraded(
    empty_url: str, legacy: int
) -> None:
    migrate(empty_url, f"{legacy:04d}")
    execute(empty_url, "DROP TABLE alembic_version")  # as that release left it

    change = upgrade(empty_url)

    assert change == SchemaChange(f"{legacy:04d}", HEAD, legacy_version=legacy)
    assert table_rows(empty_url, "schema_version") == [{"version": int(HEAD)}]


def test_a_database_at_a_revision_this_code_does_not_know_is_refused(empty_url: str) -> None:
    upgrade(empty_url)
    execute(empty_url, "UPDATE alembic_version SET version_num = '0999'")

    with pytest.raises(WarehouseError, match=r"revision 0999.*Upgrade deskmetrics"):
        upgrade(empty_url)


def test_a_schema_version_newer_than_any_release_before_alembic_is_refused(
    empty_url: str,
) -> None:
    with opened(empty_url) as engine:
        schema_v1.create_v1_database(engine)
    execute(empty_url, "UPDATE schema_version SET version = 7")

    with pytest.raises(WarehouseError, match=r"schema version 7.*Upgrade deskmetrics"):
        upgrade(empty_url)


def test_an_upgraded_database_would_be_refused_by_a_release_before_alembic(
    v1_url: str,
) -> None:
    # Such a release refused a schema_version above its own: each revision writes its number.
    upgrade(v1_url)

    assert table_rows(v1_url, "schema_version") == [{"version": int(HEAD)}]


def test_tables_without_any_schema_revision_are_refused(empty_url: str) -> None:
    with opened(empty_url) as engine, engine.begin() as conn:
        schema_v1.agents.create(conn)

    with pytest.raises(WarehouseError, match="no schema revision"):
        upgrade(empty_url)


def test_a_view_built_on_ours_survives_reopening(empty_url: str) -> None:
    upgrade(empty_url)
    execute(empty_url, "CREATE VIEW team_weeks AS SELECT * FROM agent_rates_by_week")

    change = upgrade(empty_url)

    assert change == SchemaChange(HEAD, HEAD)
    with opened(empty_url) as engine, engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM team_weeks")).scalar() == 0


def test_opening_a_database_at_head_writes_nothing(postgres_database_url: str) -> None:
    upgrade(postgres_database_url)
    read_only = f"{postgres_database_url}?options=-c%20default_transaction_read_only%3Don"

    assert upgrade(read_only) == SchemaChange(HEAD, HEAD)


OPEN_AT_SIGNAL = """
import sys
from warehouse.schema import open_engine
sys.stdin.readline()  # every process is started and waiting: now all open at once
open_engine(sys.argv[1])
"""


def open_all_at_once(url: str, processes: int = 3) -> list[str]:
    """Start processes that each open `url`, let them all go at once; their failures."""
    started = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_SIGNAL, url],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(processes)
    ]
    for process in started:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    failures = []
    for process in started:
        _, errors = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(errors)
    return failures


@pytest.mark.parametrize("round_", range(3))
def test_processes_opening_one_new_database_at_once_all_succeed(
    empty_url: str, round_: int
) -> None:
    assert open_all_at_once(empty_url) == []
    assert upgrade(empty_url) == SchemaChange(HEAD, HEAD)


def test_processes_opening_one_release_1_database_at_once_upgrade_it_once(v1_url: str) -> None:
    assert open_all_at_once(v1_url) == []
    assert upgrade(v1_url) == SchemaChange(HEAD, HEAD)
    assert len(table_rows(v1_url, "interactions")) == len(V1_ROWS["interactions"])


def test_db_upgrade_says_from_which_revision_to_which(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.sqlite"
    with opened(f"sqlite:///{database}") as engine:
        schema_v1.create_v1_database(engine)
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[database]\nurl = "sqlite:///{database}"\n')

    first = run_cli(["db", "upgrade", "--config", str(settings)])
    again = run_cli(["db", "upgrade", "--config", str(settings)])

    assert first.returncode == 0, first.stderr
    assert f"upgraded from schema_version 1 (revision 0001) to revision {HEAD}" in first.stdout
    assert f"already at revision {HEAD}" in again.stdout
    assert str(database) in first.stdout


def test_db_upgrade_of_a_database_newer_than_the_code_is_one_error_line(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.sqlite"
    upgrade(f"sqlite:///{database}")
    execute(f"sqlite:///{database}", "UPDATE alembic_version SET version_num = '0999'")
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[database]\nurl = "sqlite:///{database}"\n')

    result = run_cli(["db", "upgrade", "--config", str(settings)])

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("Error: the database ")
    assert "Upgrade deskmetrics" in result.stderr


def test_a_bi_roles_grant_on_a_view_outlives_its_recreation(postgres_database_url: str) -> None:
    role = f"dm_bi_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role}"))
    engine = create_engine(postgres_database_url)
    try:
        schema.open_engine(postgres_database_url, min_sample=30).dispose()
        with engine.begin() as conn:
            conn.execute(text(f"GRANT SELECT ON agent_rates_by_week TO {role}"))
            before = conn.execute(text("SELECT 'agent_rates_by_week'::regclass::oid")).scalar()
        # A new min_sample: every view is dropped and made again.
        schema.open_engine(postgres_database_url, min_sample=20).dispose()
        with engine.connect() as conn:
            after = conn.execute(text("SELECT 'agent_rates_by_week'::regclass::oid")).scalar()
            allowed = conn.execute(
                text(f"SELECT has_table_privilege('{role}', 'agent_rates_by_week', 'SELECT')")
            ).scalar()
            other = conn.execute(
                text(f"SELECT has_table_privilege('{role}', 'agent_rates_by_month', 'SELECT')")
            ).scalar()
        assert before != after, "the view was not recreated"
        assert allowed is True and other is False
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
