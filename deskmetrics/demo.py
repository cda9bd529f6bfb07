"""`deskmetrics demo`: the whole pipeline against the sandbox, with no account and no setup.

Generates a desk, serves it with the Zendesk simulator on 127.0.0.1, backfills it into a
fresh SQLite file through the real connector, scores, reports, and compares the report
with the ground truth the generator recorded by construction.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from deskmetrics import pipeline
from deskmetrics.pull import Progress
from deskmetrics.settings import DatabaseSettings, Settings, ZendeskSourceSettings
from sandbox.desk import DeskSpec, generate_desk
from sandbox.zendesk_api import ZendeskSandbox
from scoring import ReportRow
from warehouse.schema import open_engine

DEMO_SOURCE = "zendesk"
TOKEN_ENV = "DESKMETRICS_DEMO_TOKEN"


@dataclass(frozen=True)
class DemoResult:
    rows: list[ReportRow]
    since: date
    until: date
    database: Path
    summary: str
    matches_truth: bool


def demo_settings(database: Path, base_url: str, email: str) -> Settings:
    return Settings(
        database=DatabaseSettings(url=f"sqlite:///{database}"),
        sources={
            DEMO_SOURCE: ZendeskSourceSettings(
                subdomain="sandbox", base_url=base_url, email=email, token_env=TOKEN_ENV
            )
        },
    )


def differences(rows: list[ReportRow], truth: list[dict[str, Any]]) -> list[str]:
    """Cells where the report and the truth disagree, as readable lines."""
    ours = {(r.source, r.agent_id): asdict(r) for r in rows}
    theirs = {(r["source"], r["agent_id"]): r for r in truth}
    found = []
    for key in sorted(set(ours) | set(theirs), key=str):
        mine, true = ours.get(key), theirs.get(key)
        if mine is None or true is None:
            found.append(f"{key}: only in {'truth' if mine is None else 'report'}")
            continue
        found.extend(
            f"{key} {column}: report {mine[column]!r}, truth {true[column]!r}"
            for column in mine
            if mine[column] != true.get(column)
        )
    return found


def run_demo(
    database: Path | None, seed: int, tickets: int, progress: Progress | None = None
) -> DemoResult:
    database = database or Path(tempfile.mkdtemp(prefix="deskmetrics-demo-")) / "demo.sqlite"
    if database.exists():
        database.unlink()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    spec = DeskSpec(seed=seed, tickets=tickets, now=now)
    desk = generate_desk(spec)
    since = (now - timedelta(days=spec.days + 1)).date()
    until = now.date() + timedelta(days=1)
    with ZendeskSandbox(desk) as server:
        settings = demo_settings(database, server.base_url, server.email)
        config = settings.zendesk_config(DEMO_SOURCE, environ={TOKEN_ENV: server.token})
        engine = open_engine(settings.database_url())
        result = pipeline.backfill(
            engine, settings, DEMO_SOURCE, since, None, progress, config=config
        )
        rows = pipeline.report(engine, settings, since, until)
    truth = desk.truth(since, until, settings.timezone)
    wrong = differences(rows, truth)
    verdict = (
        f"matches the sandbox's ground truth in every cell ({len(rows)} rows)"
        if not wrong
        else "DIFFERS from the ground truth:\n  " + "\n  ".join(wrong[:20])
    )
    summary = (
        f"demo: {tickets} generated tickets read with {result.usage.requests} API requests; "
        f"the report {verdict}.\nThe database is {database} — query it with "
        f"`sqlite3 {database} 'select * from agent_rates_by_week'` or point a BI tool at it."
    )
    return DemoResult(rows, since, until, database, summary, not wrong)
