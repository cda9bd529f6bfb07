"""The SQL schema, one SQLAlchemy Core definition for SQLite and PostgreSQL, and opening it.

Tables (DESIGN.md "Storage"): the model (`agents`, `interactions`, `ownership_changes`,
`status_changes`, `satisfaction_changes`, `ratings`), the additive facts BI tools read
(`agent_day_facts`) and the credits they are the sums of (`credit_ledger`), the completeness
of each source they read (`source_completeness`) and how to link into it (`source_links`),
and bookkeeping
(`sync_state`, `dirty_days`, `quarantine`, `runs`, `leases`, `schema_version`).
Times are stored as naive UTC and come back timezone-aware. `agent_day_facts.agent_id` is
"" for the unassigned row (a key column cannot be NULL); the views turn it back into NULL.

This is the schema at the newest revision of warehouse/migrations: a change here ships as a
new revision there, and tests/test_migrations.py checks that both give the same schema.
`open_engine` creates or upgrades it (`warehouse.migrations.prepare_schema`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Dialect,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import TypeDecorator

from interactions import WarehouseError
from warehouse.migrations import SchemaChange, prepare_schema
from warehouse.views import DEFAULT_MIN_SAMPLE


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

    # A score reads and writes several moments per interaction: on SQLite, whose column is
    # text, the two steps (aware <-> naive, naive <-> text) are done as one, in C, with the
    # same text SQLAlchemy's DATETIME stores ("YYYY-MM-DD HH:MM:SS.ffffff") and reads.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = UTC

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given to the warehouse")
            return value.astimezone(utc).isoformat(" ", "microseconds")[:26]

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            if self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype):
                return super().result_processor(dialect, coltype)
            utc = UTC

            def aware(value: datetime | None) -> datetime | None:
                # The driver's naive datetime (psycopg), made aware in one call.
                return value.replace(tzinfo=utc) if value is not None else None

            return aware
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:
                # "+00:00" makes it aware in UTC (datetime.UTC itself) in the one parse.
                return parse(value + "+00:00")
            except ValueError:  # text that names its own offset: read as before
                return parse(value).replace(tzinfo=UTC)

        return process


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
    # Covering: a write's repeat windows read resolving changes' times by interaction
    # (warehouse/day_marks.py) from the index alone.
    Index("ix_status_interaction_resolved", "source", "interaction_id", "resolved", "at"),
    Index("ix_status_at", "source", "at"),
)

# The satisfaction score an interaction showed changed (Zendesk ticket events'
# `satisfaction_score`): where the first answer of a re-dated rating is kept (docs/metrics.md
# "CSAT").
satisfaction_changes = Table(
    "satisfaction_changes",
    metadata,
    *_change_columns(),
    Column("previous_score", Text),
    Column("score", Text, nullable=False),
    Index("ix_satisfaction_interaction", "source", "interaction_id"),
    Index("ix_satisfaction_at", "source", "at"),
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
    # The first moment this record was seen answered; offers never set it (docs/metrics.md
    # "CSAT": first answer). An empty updated_at marks a row made from a ticket's embedded
    # rating, which the ratings stream has not confirmed yet (warehouse/ratings.py).
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    # A survey response's own scale (1..scale_max) and Zendesk's rating_category (good,
    # neutral, bad); empty for legacy good/bad ratings and for the [csat] scale.
    Column("scale_max", Float),
    Column("category", Text),
    Index("ix_ratings_interaction", "source", "interaction_id"),
    Index("ix_ratings_created", "source", "created_at"),
)


class _PeriodStartOfDay(ColumnElement[Any]):
    """The SQL of a generated period-start column, in the dialect's own words."""

    inherit_cache = False

    def __init__(self, column: str) -> None:
        self.column = column


# As written in warehouse/migrations/versions/0004_period_starts.py.
_PERIOD_START_SQL = {
    "sqlite": {
        "week_start": "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) "
        "|| ' days')",
        "month_start": "date(day, 'start of month')",
    },
    "postgresql": {
        "week_start": "CAST(date_trunc('week', CAST(day AS timestamp)) AS date)",
        "month_start": "CAST(date_trunc('month', CAST(day AS timestamp)) AS date)",
    },
}


@compiles(_PeriodStartOfDay)
def _period_start_sql(element: _PeriodStartOfDay, compiler: SQLCompiler, **_: Any) -> str:
    return _PERIOD_START_SQL[compiler.dialect.name][element.column]


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
    # The Monday and the first of the month of `day`, generated by the database: the
    # views' `period_start`, a DATE even on SQLite (warehouse/views.py).
    Column("week_start", Date, Computed(_PeriodStartOfDay("week_start"), persisted=True)),
    Column("month_start", Date, Computed(_PeriodStartOfDay("month_start"), persisted=True)),
    Index("ix_facts_day", "day"),
    # A BI tool's filter on the week and month views (warehouse/views.py `period_start`).
    Index("ix_facts_week", "week_start"),
    Index("ix_facts_month", "month_start"),
)

# The credit ledger (scoring/ledger.py): one row per count an interaction adds to an agent's
# day, written by `score` with `agent_day_facts` in one transaction, so the ledger summed
# per source, agent and day is `agent_day_facts` (docs/metrics.md "Explaining a figure").
# `kind` is handled, resolution or csat; `credit_key` the agent, "" or the survey id; the
# moments after the counts are those that decided the verdict.
credit_ledger = Table(
    "credit_ledger",
    metadata,
    _key("source"),
    Column("day", Date, primary_key=True),
    _key("interaction_id"),
    _key("kind"),
    _key("credit_key"),
    Column("agent_id", Text, nullable=False),  # "" = unassigned
    Column("at", UTCDateTime, nullable=False),
    Column("verdict", Text, nullable=False),
    Column("reason", Text, nullable=False),
    *[Column(name, Integer, nullable=False) for name in FACT_COUNTS],
    Column("csat_score_sum", Float, nullable=False),
    Column("transferred_at", UTCDateTime),
    Column("transferred_to", Text),
    Column("reopened_at", UTCDateTime),
    Column("repeat_interaction_id", Text),
    Column("repeat_created_at", UTCDateTime),
    Column("pending_until", UTCDateTime),
    Column("score", Text),
    Column("answered_at", UTCDateTime),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_ledger_agent_day", "source", "agent_id", "day"),
    Index("ix_ledger_interaction", "source", "interaction_id"),
)

# Per source, how a link to one of its interactions is made: prefix + interaction_id +
# suffix (Zendesk `…/agent/tickets/ID`, Salesforce `…/lightning/r/Case/ID/view`); written by
# every score from the settings, read by `explain` and the `credit_drill_through` view.
source_links = Table(
    "source_links",
    metadata,
    _key("source"),
    Column("link_prefix", Text, nullable=False),
    Column("link_suffix", Text, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
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

# Per source, its high-water mark and first provisional local day (docs/metrics.md
# "Completeness"), rewritten by every score from the settings it scored with; the views
# join it for their `provisional` column (warehouse/completeness.py). A source without a
# row, or with an empty `provisional_from`, has only provisional days.
source_completeness = Table(
    "source_completeness",
    metadata,
    _key("source"),
    Column("high_water_mark", UTCDateTime),
    Column("provisional_from", Date),
    Column("computed_at", UTCDateTime, nullable=False),
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
    Column("holder", Text),  # the process that ran it (its lease holder name)
)

# Who may write a source now: one row per source, taken by sync, backfill and the
# scheduler's jobs, renewed while working; an expired lease may be taken over.
leases = Table(
    "leases",
    metadata,
    _key("source"),
    Column("holder", Text, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("renewed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# The moments of an interaction's change records: every daily count (handled, transfer,
# resolution, CSAT: a rating's first answer, or the satisfaction change that shows it) falls
# on the day of one of these, or of the interaction's own creation
# (an owner known only at creation) or resolution aggregates (`solved_at`, `updated_at`
# of a resolved interaction): warehouse/facts.py adds those two (docs/metrics.md
# "Handled" … "CSAT").
COUNTED_MOMENTS = (
    ownership_changes.c.at,
    status_changes.c.at,
    ratings.c.created_at,
    satisfaction_changes.c.at,
)

# The schema's number as releases before Alembic read it (one row). Every revision writes
# its own number here, so such a release refuses a database newer than itself; Alembic's
# own `alembic_version` table is what deskmetrics reads now.
schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True))


def open_engine(url: str, *, min_sample: int = DEFAULT_MIN_SAMPLE) -> Engine:
    """Connect, then create or upgrade the schema and the views; a clear `WarehouseError`
    if it cannot, or if the database is newer than this deskmetrics.

    `min_sample` is `report.min_sample`, baked into the views' `low_sample` column.
    """
    return upgrade_database(url, min_sample=min_sample)[0]


def upgrade_database(
    url: str, *, min_sample: int = DEFAULT_MIN_SAMPLE
) -> tuple[Engine, SchemaChange]:
    """`open_engine`, also saying from which revision to which it brought the schema."""
    engine = connect(url)
    try:
        return engine, prepare_schema(engine, metadata, min_sample)
    except WarehouseError:
        engine.dispose()  # no pooled connection left open behind the error
        raise


def connect(url: str) -> Engine:
    """An engine for `url`, with no schema work (`prepare_schema` does that)."""
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
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets `report` read while a sync writes; the busy timeout waits out short locks,
    # the switch to WAL of a new file that another process is opening too included.
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def dialect_name(engine: Engine) -> str:
    return engine.dialect.name


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
