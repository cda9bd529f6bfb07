"""What the database's refusals mean: `is_read_only`, the one test of a refused write
(SQLite SQLITE_READONLY; PostgreSQL read-only transaction or no privilege), so a command
can go on reading where it may; and `database_failure`, the error a refusal (read-only,
full, gone, unreachable) is shown as, one that says whether a later try may get through.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import URL, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from interactions import WarehouseError

SQLITE_READONLY = 8  # primary result code; extended codes keep it in the low byte
# PostgreSQL: read_only_sql_transaction, insufficient_privilege.
POSTGRES_READ_ONLY = frozenset({"25006", "42501"})


def is_read_only(error: BaseException) -> bool:
    """True when `error` is the database refusing a write because it is read-only (or the
    user may not write): SQLite SQLITE_READONLY, PostgreSQL 25006 or 42501."""
    if not isinstance(error, DBAPIError):
        return False
    cause = error.orig
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == SQLITE_READONLY
    return getattr(cause, "sqlstate", None) in POSTGRES_READ_ONLY


# SQLite primary result codes (the low byte of an extended code).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN = (
    5, 6, 10, 11, 13, 14
)  # fmt: skip
SQLITE_NOTADB = 26
SQLITE_READONLY_DBMOVED = 1032  # the file was removed or renamed while it was open
# PostgreSQL: disk_full; then the classes of a lost or refused connection, of a server out
# of resources (connections, memory) and of one shutting down: a later try may get through.
POSTGRES_FULL = frozenset({"53100"})
POSTGRES_TRANSIENT_CLASSES = ("08", "53", "57")


class DatabaseUnreachableError(WarehouseError):
    """The database was busy or could not be reached for now: a later run may get through
    (a scheduler retries at its next interval)."""


def database_failure(error: DBAPIError, where: str) -> WarehouseError | None:
    """What the database's refusal `error` means for the user, as an error naming the
    database `where`, the cause and the fix: a `DatabaseUnreachableError` when a later try
    may get through, a `WarehouseError` when someone must act first (a read-only, full,
    damaged or vanished database). None when it is no refusal but a bug (a constraint, a
    wrong statement), which keeps its traceback."""
    cause = error.orig
    said = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _sqlite_failure(code, said, where)
    state = getattr(cause, "sqlstate", None)
    if is_read_only(error):
        return WarehouseError(
            f"the database {where} refused a write ({said}): the database user may only "
            "read. Grant it write access, or point database.url at a writable database "
            "(`deskmetrics check` tests that)."
        )
    if state in POSTGRES_FULL:
        return WarehouseError(
            f"the database {where} is out of disk space ({said}): free space on its server, "
            "then run this again; what was stored before is kept."
        )
    if isinstance(error, OperationalError) and (
        state is None or str(state).startswith(POSTGRES_TRANSIENT_CLASSES)
    ):
        return DatabaseUnreachableError(
            f"the database {where} could not be reached ({said}): check that its server is "
            "up and reachable, then run this again; what was stored before is kept."
        )
    return None


def _sqlite_failure(code: int, said: str, where: str) -> WarehouseError | None:
    primary = code & 0xFF
    if code == SQLITE_READONLY_DBMOVED:
        return WarehouseError(
            f"the database file {where} was removed or replaced while deskmetrics had it "
            f"open ({said}): put the file back (or restore a backup), then run this again."
        )
    if primary == SQLITE_READONLY:
        return WarehouseError(
            f"the database file {where} cannot be written ({said}): make the file, its "
            "folder and its -wal and -shm files writable by the user deskmetrics runs as, "
            "or open it without mode=ro (`deskmetrics check` tests that)."
        )
    if primary == SQLITE_FULL:
        return WarehouseError(
            f"the disk holding the database file {where} is full ({said}): free space "
            "there, then run this again; what was stored before is kept."
        )
    if primary in (SQLITE_IOERR, SQLITE_CANTOPEN):
        return WarehouseError(
            f"the database file {where} could not be read or written ({said}): the file or "
            "its folder was removed, the disk is full or failing, or it is on a network "
            "share that went away. Check the path in database.url and the disk."
        )
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return WarehouseError(
            f"the database file {where} is damaged or is not a SQLite database ({said}): "
            "restore a backup, or point database.url at a new file."
        )
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return DatabaseUnreachableError(
            f"the database file {where} stayed locked by another process ({said}): run "
            "this again when that process has finished."
        )
    return None


def database_file_gone(engine: Engine) -> WarehouseError | None:
    """An error when `engine` is a SQLite file that is no longer where it was opened. A
    connection open on a removed file goes on writing, into nothing anyone will read: a
    writer checks after each page it stores."""
    path = sqlite_file(engine)
    if path is None or path.exists():
        return None
    return WarehouseError(
        f"the database file {path} was removed or moved while deskmetrics was writing it: "
        "what was written since is lost with it. Put the file back (or restore a backup) "
        "and run this again; it goes on from the last cursor the file holds."
    )


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite `engine` (a plain path or a `file:` URI); None for another
    database or one in memory."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        name = name.removeprefix("file:").partition("?")[0]
        if not name or engine.url.query.get("mode") == "memory":
            return None
    return Path(name)


def shown_url(url: URL) -> str:
    """The database's URL as people may see it: its password never, whether in the URL's
    user part or as a `password=` query parameter."""
    if "password" in url.query:
        url = url.update_query_dict({"password": "***"})
    return url.render_as_string(hide_password=True)
