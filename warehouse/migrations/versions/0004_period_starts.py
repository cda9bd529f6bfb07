"""Schema 4: `week_start` and `month_start` on agent_day_facts, generated from `day`.

Revision ID: 0004
Revises: 0003

They give the week and month views a `period_start` that is a DATE on both databases: on
SQLite a view column has a declared type only when it is a table's column (an expression,
`CAST(… AS DATE)` included, has none, and that cast even turns '2026-01-05' into 2026).
Stored generated columns: SQLite cannot add one with ALTER TABLE, so there the table is
rebuilt (batch mode). The SQL of each is written out here as warehouse/schema.py renders
it. No imports from the application: a revision is frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_STARTS = {
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


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table(
        "agent_day_facts", recreate="always" if dialect == "sqlite" else "auto"
    ) as batch:
        for name, sql in _STARTS[dialect].items():
            batch.add_column(sa.Column(name, sa.Date(), sa.Computed(sql, persisted=True)))
    op.execute(sa.text("UPDATE schema_version SET version = 4"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
