"""Benchmark `deskmetrics reconcile`: the requests it spends on 30 days of each source type.
Prints labelled figures; asserts nothing.

    python -m bench.reconcile [--tickets 3000] [--days 30] [--seed 7]

A generated desk is served by the Zendesk sandbox and another by the Salesforce sandbox
(both answer the counting requests as the real APIs do), each backfilled into one SQLite
warehouse, the Salesforce org twice: as the demo's source (CSAT in Feedback Management) and
as a source whose CSAT is the custom object `Case_Survey__c`. Then `reconcile` compares the
last `--days` days of each source, as `deskmetrics reconcile --source S --since … --until …`
does, and prints the counts compared (interactions created and resolved; ratings answered
where the source counts them cheaply) and not compared, and the requests spent (Zendesk:
two search counts a day; Salesforce: a login and one aggregate query per count, plus one
userinfo request when the settings' time zone is not UTC), with the wall time it took.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskmetrics import pipeline
from deskmetrics.demo import (
    DEMO_SOURCE,
    SALESFORCE_SECRETS,
    SALESFORCE_SOURCE,
    TOKEN_ENV,
    demo_settings,
)
from deskmetrics.reconcile import reconcile
from deskmetrics.settings import Settings
from sandbox.desk import DeskSpec, generate_desk
from sandbox.salesforce import SalesforceSandbox
from sandbox.zendesk import ZendeskSandbox
from warehouse.schema import open_engine

CUSTOM_CSAT_SOURCE = "service_csat"
SOURCES = (DEMO_SOURCE, SALESFORCE_SOURCE, CUSTOM_CSAT_SOURCE)


def with_custom_csat_source(settings: Settings) -> Settings:
    """The settings and the demo's Salesforce org again, its CSAT read from the custom
    object the sandbox keeps (answers dated by `Responded_At__c`)."""
    custom = settings.sources[SALESFORCE_SOURCE].model_copy(
        update={
            "csat_question": "",
            "csat_object": "Case_Survey__c",
            "csat_date_field": "Responded_At__c",
        }
    )
    return settings.model_copy(update={"sources": {**settings.sources, CUSTOM_CSAT_SOURCE: custom}})


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        "command:", shlex.join([Path(sys.executable).name, "-m", "bench.reconcile", *sys.argv[1:]])
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    spec = DeskSpec(seed=args.seed, tickets=args.tickets, now=now, days=args.days + 5)
    zendesk_desk, salesforce_desk = (
        generate_desk(spec),
        generate_desk(replace(spec, seed=args.seed + 1)),
    )
    database = Path(tempfile.mkdtemp(prefix="deskmetrics-bench-")) / "reconcile.sqlite"
    with ZendeskSandbox(zendesk_desk) as zendesk, SalesforceSandbox(salesforce_desk) as org:
        settings = with_custom_csat_source(
            demo_settings(database, zendesk.base_url, zendesk.email, org.instance_url)
        )
        os.environ.update({TOKEN_ENV: zendesk.token, **SALESFORCE_SECRETS})
        engine = open_engine(settings.database_url())
        start = (now - timedelta(days=spec.days + 1)).date()
        for name in SOURCES:
            pipeline.backfill(
                engine, settings, name, start, None, config=settings.source_config(name)
            )
        until = now.date()
        since = until - timedelta(days=args.days)
        for name in SOURCES:
            started = time.perf_counter()
            found = reconcile(engine, settings, name, since, until, now)
            took = time.perf_counter() - started
            counts = ", ".join(dict.fromkeys(count.what for count in found.counts))
            print(
                f"{name:<14} {args.days} days ({since} to {until}): "
                f"{len(found.days)} days compared ({counts}), "
                f"{len(found.differing_days)} differ, {len(found.left_out)} left out; "
                f"{found.requests} requests, {took:.2f} s"
            )
            for what, why in found.not_compared.items():
                print(f"{'':<14} not compared: {what}: {why}")


if __name__ == "__main__":
    main()
