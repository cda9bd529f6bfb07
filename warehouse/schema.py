"""The SQL schema, one SQLAlchemy Core definition for SQLite and PostgreSQL, and opening it.

Tables (DESIGN.md "Storage"): the model (`agents`, `interactions`, `ownership_changes`,
`status_changes`, `ratings`), the additive facts BI tools read (`agent_day_facts`), and
bookkeeping (`sync_state`, `dirty_days`, `runs`, `schema_version`). Times are stored as
naive UTC and come back timezone-aware. `agent_day_facts.agent_id` is "" for the
unassigned row (a key column cannot be NULL); the views turn it back into NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from interactions import WarehouseError
from warehouse.views import create_views

SCHEMA_VERSION = 2


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the column."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the warehouse")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()


def _key(name: str) -> Column[str]:
    return Column(name, Text, primary_key=True)


agents = Table(
    "agents",
    metadata,
    _key("source"),
    _key("agent_id"),
    Column("name", Text),
    Column("email", Text),
    Column("role", Text),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("seen_at", UTCDateTime, nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    _key("source"),
    _key("interaction_id"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("status", Text, nullable=False),
    Column("resolved", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("customer_id", Text),
    Column("owner_id", Text),
    Column("group_id", Text),
    Column("solved_at", UTCDateTime),
    Column("reopens", Integer),
    Column("assignee_stations", Integer),
    Index("ix_interactions_customer_created", "source", "customer_id", "created_at"),
    Index("ix_interactions_updated", "source", "updated_at"),
    # One index per moment the dirty-day lookup filters on (warehouse/facts.py).
    Index("ix_interactions_created", "source", "created_at"),
    Index("ix_interactions_solved", "source", "solved_at"),
)


def _change_columns() -> list[Column[Any]]:
    return [
        _key("source"),
        _key("change_id"),
        Column("interaction_id", Text, nullable=False),
        Column("update_id", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
    ]


ownership_changes = Table(
    "ownership_changes",
    metadata,
    *_change_columns(),
    Column("previous_owner", Text),
    Column("new_owner", Text),
    Index("ix_ownership_interaction", "source", "interaction_id"),
    Index("ix_ownership_at", "source", "at"),
)

status_changes = Table(
    "status_changes",
    metadata,
    *_change_columns(),
    Column("previous_status", Text),
    Column("new_status", Text, nullable=False),
    Column("previous_resolved", Boolean),
    Column("resolved", Boolean, nullable=False),
    Index("ix_status_interaction", "source", "interaction_id"),
    Index("ix_status_at", "source", "at"),
)

ratings = Table(
    "ratings",
    metadata,
    _key("source"),
    _key("rating_id"),
    Column("interaction_id", Text, nullable=False),
    Column("survey_id", Text, nullable=False),
    Column("agent_id", Text),
    Column("score", Text, nullable=False),
    Column("comment", Text),
    # The earliest created_at ever seen for this record (METRICS.md "CSAT": first answer).
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Index("ix_ratings_interaction", "source", "interaction_id"),
    Index("ix_ratings_created", "source", "created_at"),
)

FACT_COUNTS = (
    "handled",
    "transferred_out",
    "resolved",
    "fcr_eligible",
    "fcr",
    "csat_responses",
    "csat_satisfied",
)

agent_day_facts = Table(
    "agent_day_facts",
    metadata,
    _key("source"),
    Column("agent_id", Text, primary_key=True),  # "" = unassigned
    Column("day", Date, primary_key=True),
    *[Column(name, Integer, nullable=False) for name in FACT_COUNTS],
    Column("csat_score_sum", Float, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_facts_day", "day"),
)

# A day whose facts must be recomputed. `token` changes each time the day is marked, so a
# score removes only the marks it read, never one a concurrent sync wrote meanwhile.
dirty_days = Table(
    "dirty_days",
    metadata,
    _key("source"),
    Column("day", Date, primary_key=True),
    Column("token", Text),
)

# Records a source sent that could not be read, set aside when the source's `bad_records`
# setting is "quarantine" (the default stops and says which record).
quarantine = Table(
    "quarantine",
    metadata,
    _key("source"),
    _key("stream"),
    _key("record_id"),
    Column("error", Text, nullable=False),
    Column("record", Text),  # the record as received (JSON), for a report to the vendor
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

sync_state = Table(
    "sync_state",
    metadata,
    _key("source"),
    Column("stream", Text, primary_key=True),
    Column("cursor", Text),  # JSON
    Column("high_water_mark", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("command", Text, nullable=False),
    Column("source", Text),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", Text, nullable=False),
    Column("pages", Integer, nullable=False, default=0),
    Column("records", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("detail", Text),
)

# The moments an interaction counts on: every daily count (handled, transfer, resolution,
# CSAT) falls on the day of one of these (METRICS.md "Handled" … "CSAT").
COUNTED_MOMENTS = (ownership_changes.c.at, status_changes.c.at, ratings.c.created_at)

schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True))


def open_engine(url: str) -> Engine:
    """Connect and create, upgrade or check the schema; a clear `WarehouseError` if it cannot."""
    try:
        engine = create_engine(url, future=True)
    except (SQLAlchemyError, ImportError, ValueError) as bad:
        raise WarehouseError(
            f"database.url is not usable ({type(bad).__name__}: {bad}). Use "
            "sqlite:///path/to/deskmetrics.sqlite or postgresql+psycopg://user@host/db "
            "(pip install 'deskmetrics[postgres]' for PostgreSQL)."
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            _prepare_schema(engine)
            break
        except SQLAlchemyError as bad:
            # Two processes opening a new database at once race to create it; the loser
            # finds the winner's tables on its next try.
            if attempt < SCHEMA_ATTEMPTS and _is_creation_race(bad):
                continue
            raise WarehouseError(
                f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
                f"{type(bad).__name__}: {str(bad).splitlines()[0]}. Check database.url and "
                "that the server is up and the file's folder exists."
            ) from None
    return engine


SCHEMA_ATTEMPTS = 5


def _is_creation_race(error: SQLAlchemyError) -> bool:
    text_ = str(error).lower()
    return any(
        sign in text_ for sign in ("already exists", "unique", "duplicate", "locked", "deadlock")
    )


def _prepare_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialise schema work between processes for this transaction.
            conn.execute(text("SELECT pg_advisory_xact_lock(7305162001)"))
        found = (
            conn.execute(select(schema_version.c.version)).scalar()
            if inspect(conn).has_table("schema_version")
            else None
        )
        if found is not None and found > SCHEMA_VERSION:
            raise WarehouseError(
                f"the database has schema version {found}, newer than this deskmetrics "
                f"({SCHEMA_VERSION}); upgrade deskmetrics."
            )
        metadata.create_all(conn)
        if found is None:
            conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        elif found < SCHEMA_VERSION:
            _upgrade(conn, found)
            conn.execute(schema_version.update().values(version=SCHEMA_VERSION))
        create_views(conn)


def _upgrade(conn: Connection, found: int) -> None:
    """Bring a database of an older schema version up to this one, in place."""
    if found < 2:
        # Version 2: every text column unbounded (PostgreSQL took at most 32 characters of
        # a status), a token on dirty marks, an index per moment the day lookup filters on.
        if conn.dialect.name == "postgresql":
            for table in metadata.sorted_tables:
                for column in inspect(conn).get_columns(table.name):
                    if isinstance(column["type"], String) and not isinstance(column["type"], Text):
                        conn.execute(
                            text(
                                f'ALTER TABLE {table.name} ALTER COLUMN "{column["name"]}" '
                                "TYPE TEXT"
                            )
                        )
        if "token" not in {c["name"] for c in inspect(conn).get_columns("dirty_days")}:
            conn.execute(text("ALTER TABLE dirty_days ADD COLUMN token TEXT"))
        conn.execute(text("DROP INDEX IF EXISTS ix_interactions_customer"))
        for table in metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets `report` read while a sync writes; the busy timeout waits out short locks.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def dialect_name(engine: Engine) -> str:
    return engine.dialect.name


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
