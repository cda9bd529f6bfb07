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
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from interactions import WarehouseError
from warehouse.views import create_views

SCHEMA_VERSION = 1


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
    return Column(name, String(64), primary_key=True)


agents = Table(
    "agents",
    metadata,
    _key("source"),
    _key("agent_id"),
    Column("name", Text),
    Column("email", Text),
    Column("role", String(32)),
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
    Column("status", String(32), nullable=False),
    Column("resolved", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("customer_id", String(64)),
    Column("owner_id", String(64)),
    Column("group_id", String(64)),
    Column("solved_at", UTCDateTime),
    Column("reopens", Integer),
    Column("assignee_stations", Integer),
    Index("ix_interactions_customer", "source", "customer_id"),
    Index("ix_interactions_updated", "source", "updated_at"),
)


def _change_columns() -> list[Column[Any]]:
    return [
        _key("source"),
        _key("change_id"),
        Column("interaction_id", String(64), nullable=False),
        Column("update_id", String(64), nullable=False),
        Column("at", UTCDateTime, nullable=False),
    ]


ownership_changes = Table(
    "ownership_changes",
    metadata,
    *_change_columns(),
    Column("previous_owner", String(64)),
    Column("new_owner", String(64)),
    Index("ix_ownership_interaction", "source", "interaction_id"),
    Index("ix_ownership_at", "source", "at"),
)

status_changes = Table(
    "status_changes",
    metadata,
    *_change_columns(),
    Column("previous_status", String(32)),
    Column("new_status", String(32), nullable=False),
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
    Column("interaction_id", String(64), nullable=False),
    Column("survey_id", String(64), nullable=False),
    Column("agent_id", String(64)),
    Column("score", String(32), nullable=False),
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
    Column("agent_id", String(64), primary_key=True),  # "" = unassigned
    Column("day", Date, primary_key=True),
    *[Column(name, Integer, nullable=False) for name in FACT_COUNTS],
    Column("csat_score_sum", Float, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_facts_day", "day"),
)

dirty_days = Table("dirty_days", metadata, _key("source"), Column("day", Date, primary_key=True))

sync_state = Table(
    "sync_state",
    metadata,
    _key("source"),
    Column("stream", String(128), primary_key=True),
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
    Column("command", String(32), nullable=False),
    Column("source", String(64)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False),
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
    """Connect and create or check the schema; a clear `WarehouseError` if it cannot."""
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
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            found = conn.execute(select(schema_version.c.version)).scalar()
            if found is None:
                conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
            elif found > SCHEMA_VERSION:
                raise WarehouseError(
                    f"the database has schema version {found}, newer than this deskmetrics "
                    f"({SCHEMA_VERSION}); upgrade deskmetrics."
                )
        create_views(engine)
    except SQLAlchemyError as bad:
        raise WarehouseError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{type(bad).__name__}: {str(bad).splitlines()[0]}. Check database.url and that "
            "the server is up and the file's folder exists."
        ) from None
    return engine


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
