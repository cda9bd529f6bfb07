"""End to end against the sandbox: a ticket export naming a status Zendesk does not have (an
integration's value, a proxy's rewrite) follows `bad_records`, never counted as unresolved:
the ticket stream stops naming the ticket and the value, or the ticket is set aside; once
the export is right again, the report equals the generator's ground truth."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from deskmetrics import pipeline
from deskmetrics.settings import load_settings
from interactions import MalformedRecordError
from sandbox.desk import truth as desk_truth
from tests.desks import TINY, Served, served_desk
from warehouse.quarantine import quarantined
from warehouse.schema import interactions

SHOWN = "escalated"


def _rewritten(served: Served, count: int = 3) -> list[int]:
    """`count` solved tickets whose export shows `SHOWN`; their events keep `solved`."""
    solved = sorted(t.id for t in served.desk.tickets.values() if t.status == "solved")[:count]
    served.sandbox.shown_status.update({ticket: SHOWN for ticket in solved})
    return solved


def test_an_unknown_status_stops_the_ticket_stream_until_the_export_is_right(
    tmp_path: Path, any_engine: Engine
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.engine = any_engine
        named = "|".join(str(ticket) for ticket in _rewritten(served))
        with pytest.raises(MalformedRecordError, match=rf"ticket ({named}): .*'{SHOWN}'"):
            served.backfill()
        served.sandbox.shown_status.clear()
        served.backfill()
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until)
    assert [asdict(row) for row in report] == desk_truth.report_rows(served.desk, since, until)


def test_an_unknown_status_is_quarantined_and_not_stored_as_unresolved(
    tmp_path: Path, any_engine: Engine
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        with served.settings_path.open("a") as settings:
            settings.write('bad_records = "quarantine"\n')
        served.settings = load_settings(served.settings_path)
        served.engine = any_engine
        rewritten = _rewritten(served)
        served.backfill()
        with served.engine.connect() as conn:
            stored = set(conn.execute(select(interactions.c.interaction_id)).scalars())
        set_aside = quarantined(served.engine, "zendesk", "tickets")
    assert sorted(int(entry.record_id) for entry in set_aside) == rewritten
    assert all(f"'{SHOWN}'" in entry.error for entry in set_aside)
    assert not stored & {str(ticket) for ticket in rewritten}
    assert len(stored) == len(served.desk.tickets) - len(rewritten)


def test_the_cli_names_the_ticket_and_the_status_in_one_error_line(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        named = "|".join(str(ticket) for ticket in _rewritten(served))
        result = served.cli("sync")
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert result.returncode == 1
    assert len(errors) == 1 and re.search(rf"ticket ({named}): .*'{SHOWN}'", errors[0])
