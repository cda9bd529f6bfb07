"""Any split of one Zendesk desk's history into a backfill and later syncs gives the same
`agent_day_facts` as one backfill of the whole (docs/metrics.md "CSAT": the first answer's
moment never depends on when a record was read).

The sandbox desk moves on by `advance_desk` batches (ratings answered and changed, a day
apart on a long batch; on a desk that switched to new CSAT lately, surveys answered and
offered again, tickets rated before the switch surveyed after it). One warehouse backfills
after some of the batches and syncs after each of the others; another backfills once, after
the last. Hypothesis chooses the batches' lengths and seeds and where the backfill falls.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from unittest.mock import patch

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from deskmetrics import pipeline
from sandbox.desk import advance_desk
from tests.desks import Served, served_desk
from warehouse.schema import FACT_COUNTS, agent_day_facts, open_engine

BATCH_MINUTES = st.sampled_from([3, 45, 240, 26 * 60])
BATCHES = st.lists(st.tuples(BATCH_MINUTES, st.integers(0, 999)), min_size=1, max_size=3)


def _facts(engine: Engine) -> list[tuple[object, ...]]:
    columns = [agent_day_facts.c[name] for name in ("source", "agent_id", "day", *FACT_COUNTS)]
    with engine.connect() as conn:
        return sorted(
            tuple(row) for row in conn.execute(select(*columns, agent_day_facts.c.csat_score_sum))
        )


def _backfill(served: Served, engine: Engine, since: date) -> None:
    pipeline.backfill(
        engine, served.settings, "zendesk", since, None,
        config=served.config(), policy=served.policy(),
    )  # fmt: skip


def _sync(served: Served, engine: Engine) -> None:
    with patch.dict(os.environ, served.environ):
        pipeline.sync(engine, served.settings, policy=served.policy())


@settings(max_examples=6)
# Found by this test: a survey answered, offered again and answered again on one day (two
# responses of one survey id, a credit each); an answer-then-offer in a 3-minute batch.
@example(batches=[(45, 0), (3, 0), (3, 0)], backfill_after=0, switch_days=1.0)
@example(batches=[(3, 0)], backfill_after=0, switch_days=1.0)
@given(
    batches=BATCHES,
    backfill_after=st.integers(0, 3),
    switch_days=st.sampled_from([None, 1.0]),
)
def test_a_backfill_then_syncs_give_the_facts_of_one_backfill_of_the_whole(
    batches: list[tuple[int, int]], backfill_after: int, switch_days: float | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp_path = Path(folder)
        spec = {"customers": 100, "tickets": 300, "csat_switch_days": switch_days}
        with served_desk(tmp_path / "desk", **spec) as served:
            split = served.engine
            whole = open_engine(f"sqlite:///{tmp_path / 'whole.sqlite'}")
            since, _ = served.period()  # before the desk's first ticket, whatever the batches
            cut = min(backfill_after, len(batches))
            for minutes, seed in batches[:cut]:
                advance_desk(served.desk, minutes=minutes, seed=seed)
            _backfill(served, split, since)
            for minutes, seed in batches[cut:]:
                advance_desk(served.desk, minutes=minutes, seed=seed)
                _sync(served, split)
            _backfill(served, whole, since)
            assert _facts(split) == _facts(whole)
