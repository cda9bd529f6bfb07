"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Written with `op.*` for SQLite and PostgreSQL (batch mode where SQLite cannot ALTER); it
ends by writing its number into `schema_version`, so a deskmetrics from before Alembic
refuses the database. No imports from the application: a revision is frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
    op.execute(sa.text("UPDATE schema_version SET version = ${int(up_revision)}"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
