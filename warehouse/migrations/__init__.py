"""Schema revisions (Alembic, in versions/) and bringing a database to the newest of them.

Owns `prepare_schema`, which `open_engine` and `deskmetrics db upgrade` call, and
`SchemaChange`, what it did. A database is, in order of what it holds:
- at `HEAD` (Alembic's `alembic_version`): nothing to do but the views, if they changed;
- at an older revision: `alembic upgrade head`, in place;
- stamped by a release from before Alembic (`schema_version` 1, 2 or 3, no
  `alembic_version`): adopted at the matching revision, then upgraded;
- new (none of our tables): `create_all` and stamped at `HEAD`, which gives the schema the
  revisions give (tests/test_migrations.py compares them);
- newer than this code (a revision it does not know, or a larger `schema_version`): a
  `WarehouseError` saying to upgrade deskmetrics.

Alembic runs on our connection, in our transaction, under a lock that serialises schema
work between processes (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE, which also
makes SQLite's DDL one transaction), with a Config built here: no alembic.ini. A database
that needs nothing is only read, with no lock and no write. The views are dropped before a
migration (PostgreSQL cannot change a column type under a view, SQLite cannot rebuild a
table under one) and made again after.

A new revision: copy the newest file in versions/, number it one more (the number is also
written into `schema_version`), write it with `op.*` (batch mode where SQLite cannot
ALTER), change warehouse/schema.py to match, and set `HEAD`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from interactions import WarehouseError
from warehouse.access import SQLITE_CANTOPEN, database_failure, is_read_only, shown_url
from warehouse.view_grants import grant_again, view_grants
from warehouse.views import create_views, drop_views, views_are_current

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in versions/ (tests/test_migrations.py checks that it is).
HEAD = "0009"
# `schema_version` of the releases before Alembic, and the revision of the same schema.
LEGACY_REVISIONS = {1: "0001", 2: "0002", 3: "0003"}
SCRIPTS = Path(__file__).resolve().parent

SCHEMA_ATTEMPTS = 5
log = logging.getLogger(__name__)
_ADVISORY_LOCK = 7305162001


@dataclass(frozen=True)
class SchemaChange:
    """What `prepare_schema` did: the revision found (None: a new database) and the one
    the database is at now; `legacy_version` is the pre-Alembic `schema_version` adopted."""

    before: str | None
    after: str
    legacy_version: int | None = None

    def summary(self) -> str:
        if self.before is None:
            return f"created the schema at revision {self.after}"
        found = f"revision {self.before}"
        if self.legacy_version is not None:
            found = f"schema_version {self.legacy_version} (revision {self.before})"
        if self.before == self.after:
            return f"already at revision {self.after}, the newest this deskmetrics knows"
        return f"upgraded from {found} to revision {self.after}"


@dataclass(frozen=True)
class _Found:
    revision: str | None  # alembic_version
    legacy_version: int | None  # schema_version
    has_tables: bool  # any of ours


def prepare_schema(engine: Engine, tables: MetaData, min_sample: int) -> SchemaChange:
    """Bring `engine`'s database to `HEAD` and its views up to date (`min_sample` baked in)."""
    where = shown_url(engine.url)
    attempt = 1
    while True:
        try:
            return _prepare_once(engine, tables, min_sample, where)
        except SQLAlchemyError as bad:
            # Kept from before the locks: should two processes still race to create a new
            # database, the loser finds the winner's tables on its next try.
            if attempt < SCHEMA_ATTEMPTS and _is_creation_race(bad):
                attempt += 1
                continue
            raise _open_failure(engine, bad, where) from None


def _open_failure(engine: Engine, bad: SQLAlchemyError, where: str) -> WarehouseError:
    """Why the database cannot be opened, in the words of its kind: a SQLite database is a
    file in a folder, a PostgreSQL one a server."""
    code = getattr(getattr(bad, "orig", None), "sqlite_errorcode", None)
    # A file that cannot be opened at all: most often a folder that does not exist.
    cannot_open = isinstance(code, int) and code & 0xFF == SQLITE_CANTOPEN
    known = database_failure(bad, where) if isinstance(bad, DBAPIError) else None
    if known is not None and not cannot_open:
        return known
    said = f"{type(bad).__name__}: {str(bad).splitlines()[0]}"
    if engine.dialect.name == "sqlite":
        return WarehouseError(
            f"cannot open the database file {where}: {said}. Check the path in "
            "database.url: its folder must exist, and the folder and the file must be "
            "readable and writable by the user deskmetrics runs as."
        )
    return WarehouseError(
        f"cannot open the database {where}: {said}. Check database.url and that the "
        "server is up and reachable."
    )


def _prepare_once(engine: Engine, tables: MetaData, min_sample: int, where: str) -> SchemaChange:
    with engine.connect() as conn:
        # Only read first: a database that needs nothing gets no lock and no write.
        found = _found(conn, tables)
        _refuse_newer(found, where)
        if found.revision == HEAD and views_are_current(conn, min_sample):
            return SchemaChange(HEAD, HEAD)
    try:
        with engine.begin() as conn:
            _lock(conn)
            change = _bring_to_head(conn, tables, min_sample, where)
    except DBAPIError as refused:
        if found.revision != HEAD or not is_read_only(refused):
            raise
        # Only the views are out of date (report.min_sample changed): a reader of a
        # read-only database or role still reads them, flags as they were written.
        log.warning(
            "database %s is read-only: its views keep the low-sample threshold they were "
            "written with, not report.min_sample = %d; run `deskmetrics db upgrade` where it "
            "can be written to change them",
            where,
            min_sample,
        )
        return SchemaChange(HEAD, HEAD)
    if change.before != change.after:
        log.info("database %s: %s", where, change.summary())
    return change


def _is_creation_race(error: SQLAlchemyError) -> bool:
    message = str(error).lower()
    return any(
        sign in message for sign in ("already exists", "unique", "duplicate", "locked", "deadlock")
    )


def _lock(conn: Connection) -> None:
    """Serialise schema work between processes until `conn`'s transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})"))
    elif conn.dialect.name == "sqlite":
        # Takes the write lock now (waiting out the busy timeout), and opens a transaction
        # that the DDL joins: Python's sqlite3 would otherwise commit each DDL at once.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _found(conn: Connection, tables: MetaData) -> _Found:
    names = set(inspect(conn).get_table_names())
    revision = (
        conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if "alembic_version" in names
        else None
    )
    legacy = (
        conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
        if "schema_version" in names
        else None
    )
    return _Found(revision, legacy, bool(names & set(tables.tables)))


def _refuse_newer(found: _Found, where: str) -> None:
    if found.revision is not None:
        if found.revision != HEAD and found.revision not in _known_revisions():
            raise WarehouseError(
                f"the database {where} is at schema revision {found.revision}, which this "
                f"deskmetrics (newest revision {HEAD}) does not know: a newer deskmetrics "
                "upgraded it. Upgrade deskmetrics (pip install -U deskmetrics) to use it."
            )
    elif found.legacy_version is not None and found.legacy_version not in LEGACY_REVISIONS:
        raise WarehouseError(
            f"the database {where} has schema version {found.legacy_version}, which this "
            f"deskmetrics (schema versions {min(LEGACY_REVISIONS)} to {max(LEGACY_REVISIONS)} "
            "before Alembic) does not know: a newer deskmetrics made it. Upgrade deskmetrics "
            "(pip install -U deskmetrics) to use it."
        )


def _bring_to_head(conn: Connection, tables: MetaData, min_sample: int, where: str) -> SchemaChange:
    found = _found(conn, tables)  # again, now under the lock: another process may have done it
    _refuse_newer(found, where)
    if found.revision is not None:
        before, legacy = found.revision, None
    elif found.legacy_version is not None:  # a release from before Alembic: adopt it
        before, legacy = LEGACY_REVISIONS[found.legacy_version], found.legacy_version
    else:
        return _create(conn, tables, min_sample, found, where)
    grants = view_grants(conn)  # a BI role's SELECT goes with a view that is dropped
    if before != HEAD:
        _drop_views(conn)
        if found.revision is None:
            _stamp(conn, before)
        _upgrade_to_head(conn)
    if not views_are_current(conn, min_sample):
        _drop_views(conn)
        create_views(conn, min_sample)
    grant_again(conn, grants)
    return SchemaChange(before, HEAD, legacy)


def _create(
    conn: Connection, tables: MetaData, min_sample: int, found: _Found, where: str
) -> SchemaChange:
    """A new database: the tables of schema.py at once, stamped at HEAD, and the views."""
    if found.has_tables:
        raise WarehouseError(
            f"the database {where} has deskmetrics tables but no schema revision "
            "(neither alembic_version nor schema_version): not made by deskmetrics, or "
            "damaged. Point database.url at a new database, or restore a backup."
        )
    tables.create_all(conn)
    _stamp(conn, HEAD)
    conn.execute(text(f"INSERT INTO schema_version (version) VALUES ({int(HEAD)})"))
    create_views(conn, min_sample)
    return SchemaChange(None, HEAD)


def _drop_views(conn: Connection) -> None:
    try:
        drop_views(conn)
    except SQLAlchemyError as bad:
        if is_read_only(bad):
            raise  # not views of the user's in the way: the database cannot be written
        raise WarehouseError(
            f"cannot replace the agent_rates_by_* views: {str(bad).splitlines()[0]}. "
            "deskmetrics recreates them when its schema or report.min_sample changes: drop "
            "the views built on them, run `deskmetrics db upgrade`, then create those again."
        ) from None


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    _quiet_alembic()
    config = Config()
    # configparser reads % as interpolation: a folder may hold one.
    config.set_main_option("script_location", str(SCRIPTS).replace("%", "%%"))
    config.attributes["connection"] = conn
    return config


# Alembic is imported in the functions that use it: it takes a fifth of a second to
# import, and a database at HEAD (every start but the first after an upgrade) needs none.


def _stamp(conn: Connection, revision: str) -> None:
    from alembic import command

    command.stamp(_config(conn), revision)


def _upgrade_to_head(conn: Connection) -> None:
    from alembic import command

    command.upgrade(_config(conn), "head")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    _quiet_alembic()
    script = ScriptDirectory(str(SCRIPTS))
    return {rev.revision for rev in script.walk_revisions()}


def _quiet_alembic() -> None:
    # Alembic logs its plugins and its DDL mode at INFO on every command: noise in a
    # deskmetrics log, which gets one line of ours per schema change instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
