"""Benchmark what a sync costs in survey requests (Zendesk's new CSAT) against the tickets
whose satisfaction changed since the last sync, and against re-reading every survey that
could still be answered (28 days of them). Prints a table; asserts nothing.

    python -m bench.surveys [--tickets 6000] [--days 60] [--switch-days 40] [--seed 7]

(from the repository root; as `python bench/surveys.py`, bench/scoring.py would stand in for
the `scoring` package).

A desk that switched to new CSAT `--switch-days` ago is backfilled from the sandbox (in this
process, so its clock can be moved on), then moved on by an hour, six hours, a day and three
days of activity, one sync after each. "changed" counts the tickets whose satisfaction
changed in the interval: surveys answered or changed (a sync needs one page of surveys sent
since the last, then one request per 50 tickets the ticket export shows answered).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskmetrics import pipeline, pull
from deskmetrics.demo import DEMO_SOURCE, TOKEN_ENV, demo_settings
from sandbox.desk import DeskSpec, advance_desk, generate_desk
from sandbox.zendesk import ZendeskSandbox
from warehouse.schema import open_engine

RESPONSES = "/api/v2/guide/survey_responses"
STEPS = (60, 360, 1440, 4320)  # minutes of activity before each sync


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=6000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--switch-days", type=float, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    spec = DeskSpec(
        now=now, seed=args.seed, tickets=args.tickets, days=args.days,
        agents=max(25, args.tickets // 120), customers=max(900, args.tickets * 3 // 10),
        csat_switch_days=args.switch_days,
    )  # fmt: skip
    desk = generate_desk(spec)
    database = Path(tempfile.mkdtemp(prefix="deskmetrics-bench-")) / "surveys.sqlite"
    with ZendeskSandbox(desk) as sandbox:
        settings = demo_settings(database, sandbox.base_url, sandbox.email)
        config = settings.zendesk_config(DEMO_SOURCE, environ={TOKEN_ENV: sandbox.token})
        engine = open_engine(settings.database_url())
        since = (now - timedelta(days=args.days + 1)).date()
        pipeline.backfill(engine, settings, DEMO_SOURCE, since, None, config=config)
        backfilled = sandbox.requests_by_path.get(RESPONSES, 0)
        print(f"desk: {len(desk.tickets)} tickets, {len(desk.survey_responses)} surveys sent")
        print(f"backfill survey-response requests     {backfilled}")
        print()
        print("activity  changed  survey requests  28-day re-read would take")
        for minutes in STEPS:
            summary = advance_desk(desk, minutes=minutes, seed=minutes)
            changed = len(set(summary["surveys_answered"]) | set(summary["surveys_changed"]))
            before = sandbox.requests_by_path.get(RESPONSES, 0)
            pull.pull_source(engine, settings, DEMO_SOURCE, now, config=config)
            made = sandbox.requests_by_path.get(RESPONSES, 0) - before
            sent = desk.now - timedelta(days=28)
            answerable = sum(r.offered_at >= sent for r in desk.survey_responses.values())
            label = f"{minutes // 60} h" if minutes < 1440 else f"{minutes // 1440} d"
            print(f"{label:>8}  {changed:>7}  {made:>15}  {math.ceil(answerable / 50):>25}")


if __name__ == "__main__":
    main()
