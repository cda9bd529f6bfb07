"""Alembic's environment: run the revisions on the connection deskmetrics hands over.

`warehouse.migrations.prepare_schema` builds the Alembic `Config` in code and puts its open
connection in `config.attributes["connection"]`, so the revisions run inside its
transaction and under its lock. For a developer writing a revision with the `alembic`
command instead, `sqlalchemy.url` in the Config names the database to connect to.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from interactions import WarehouseError
from warehouse.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise WarehouseError(
            "no database for the migrations: run `deskmetrics db upgrade`, or set "
            "sqlalchemy.url in the Config the alembic command reads"
        )
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


_main()
