"""The drill-through view on SQLite and PostgreSQL: one row per credit of the ledger, with the
agent's name, the interaction and its link; summed per source, agent and day it is
`agent_day_facts`; and docs/bi.md's query gives the tickets behind Ben's FCR in the worked
example of docs/metrics.md."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, func, select, text

from deskmetrics import pipeline
from deskmetrics.settings import Settings, load_settings
from tests.desks import write_settings
from tests.test_docs import AGENTS, SOURCE, _histories, _moment, _page, _table
from warehouse.day_marks import DirtyRule
from warehouse.drill_through import DRILL_COLUMNS, DRILL_VIEW
from warehouse.schema import FACT_COUNTS, agent_day_facts, credit_ledger
from warehouse.store import store_page

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://acme.example"


@pytest.fixture
def example(any_engine: Engine, tmp_path: Path) -> Engine:
    """The worked example of docs/metrics.md stored and scored, its Zendesk at BASE."""
    found = re.search(r"high-water mark is \*\*(\w{3} \d\d:\d\d)\*\*", _page())
    assert found
    records: list[Any] = list(AGENTS.values())
    for history in _histories(_table("The desk")):
        records += [history.interaction, *history.ownership, *history.statuses, *history.ratings]
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    mark = _moment(found[1])
    store_page(any_engine, SOURCE, "tickets", records, {}, rule, mark, mark)
    write_settings(tmp_path / "settings.toml", tmp_path / "unused.sqlite", BASE)
    settings: Settings = load_settings(tmp_path / "settings.toml")
    pipeline.score(any_engine, settings, now=mark)
    return any_engine


def drill_rows(engine: Engine) -> list[dict[str, Any]]:
    view = Table(DRILL_VIEW, MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(view))]


def test_the_drill_through_view_has_the_documented_columns(example: Engine) -> None:
    view = Table(DRILL_VIEW, MetaData(), autoload_with=example)
    assert tuple(view.columns.keys()) == DRILL_COLUMNS
    documented = (ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
    assert all(f"`{column}`" in documented for column in DRILL_COLUMNS)


def test_the_drill_through_view_has_one_row_per_credit(example: Engine) -> None:
    with example.connect() as conn:
        credits = conn.execute(select(func.count()).select_from(credit_ledger)).scalar()
    assert len(drill_rows(example)) == credits == 10  # docs/metrics.md "Explained"


def test_the_drill_through_view_summed_per_agent_and_day_is_agent_day_facts(
    example: Engine,
) -> None:
    summed: dict[tuple[str, str, str], list[float]] = {}
    for row in drill_rows(example):
        key = (row["source"], row["agent_id"] or "", str(row["day"]))
        counts = [row[name] for name in (*FACT_COUNTS, "csat_score_sum")]
        before = summed.get(key, [0] * len(counts))
        summed[key] = [a + b for a, b in zip(before, counts, strict=True)]
    columns = [agent_day_facts.c[name] for name in (*FACT_COUNTS, "csat_score_sum")]
    with example.connect() as conn:
        facts = {
            (row.source, row.agent_id, str(row.day)): [float(v) for v in row[3:]]
            for row in conn.execute(
                select(
                    agent_day_facts.c.source,
                    agent_day_facts.c.agent_id,
                    agent_day_facts.c.day,
                    *columns,
                )
            )
        }
    assert {k: [float(v) for v in vs] for k, vs in summed.items()} == facts


def test_a_drill_through_row_names_the_agent_and_links_the_ticket(example: Engine) -> None:
    ana = [r for r in drill_rows(example) if r["agent_email"] == "ana@example.com"]
    assert {r["agent_name"] for r in ana} == {"Ana Alves"}
    transfer = next(r for r in ana if r["metric"] == "transfer" and r["interaction_id"] == "4")
    assert transfer["verdict"] == "transferred" and transfer["transferred_to"] is None
    assert transfer["link"] == f"{BASE}/agent/tickets/4"
    assert transfer["interaction_status"] == "open"


def test_the_query_of_bi_md_gives_the_tickets_behind_bens_fcr(example: Engine) -> None:
    documented = (ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
    query = re.search(r"```sql\n(SELECT .+?FROM credit_drill_through.+?)```", documented, re.S)
    assert query, "docs/bi.md shows no drill-through query"
    with example.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text(query[1]))]
    assert [(r[1], r[2]) for r in rows] == [("1", "fcr"), ("2", "not_fcr")]
    assert "opened 3" in rows[1][3]
    assert rows[0][4] == f"{BASE}/agent/tickets/1"
