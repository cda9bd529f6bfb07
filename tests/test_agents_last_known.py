"""docs/metrics.md "Words", Agent: a person the source reports deleted, downgraded or
suspended keeps counting under the name and e-mail last known, and stays one person with
their agents of other sources ("People across sources"), whatever a later copy omits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from interactions import Agent, Interaction
from warehouse.schema import agents, open_engine
from warehouse.upserts import store_records

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ANA = Agent("zendesk", "7", "Ana Lima", "ana@example.com", "agent", True, T0)


def _stored(engine: Engine) -> tuple[str | None, str | None, str | None, bool]:
    with engine.connect() as conn:
        row = conn.execute(
            select(agents.c.name, agents.c.email, agents.c.role, agents.c.active).where(
                agents.c.agent_id == "7"
            )
        ).one()
    return row.name, row.email, row.role, row.active


def _store(engine: Engine, *records: Agent | Interaction) -> None:
    with engine.begin() as conn:
        store_records(conn, records, T0)


def test_a_deleted_agent_copy_without_name_or_email_keeps_those_last_known(
    tmp_path: Path,
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/warehouse.sqlite")
    _store(engine, ANA)
    _store(engine, Agent("zendesk", "7", None, None, "end-user", False, T0 + timedelta(days=9)))
    assert _stored(engine) == ("Ana Lima", "ana@example.com", "end-user", False)


def test_a_later_copy_with_a_new_name_and_email_replaces_them(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/warehouse.sqlite")
    _store(engine, ANA)
    renamed = Agent(
        "zendesk", "7", "Ana Souza", "ana.souza@example.com", "agent", True, T0 + timedelta(days=1)
    )
    _store(engine, renamed)
    assert _stored(engine) == ("Ana Souza", "ana.souza@example.com", "agent", True)
