"""One Salesforce backfill through the real pipeline, measured in a process of its own, for
bench/salesforce.py.

    python bench/salesforce_measured.py --instance-url URL --since 2024-01-01
        [--bulk-threshold N] [--bulk-page-records N] [--tracemalloc]

Backfills source "sf" from the sandbox at URL into a new SQLite file, then prints one JSON
line: the connector's requests (`requests`, `by_path`), pages and records read per stream,
wall and CPU seconds, and memory: `rss_before` (the process's peak resident set, ru_maxrss,
after imports and an empty database, before the backfill), `rss_pulled` (the peak when the
last page was stored, before scoring) and `rss_scored` (the peak after the backfill's
scoring), in KiB. With `--tracemalloc`, tracing starts after imports (so they are not
counted) and `traced_pulled` / `traced_scored` are the traced peaks at the same moments, in
bytes; tracing slows the run and its own bookkeeping inflates the RSS figures, so
bench/salesforce.py runs it apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors.http import RetryPolicy
from connectors.protocol import Page
from deskmetrics import pipeline
from deskmetrics.settings import DatabaseSettings, SalesforceSourceSettings, Settings
from warehouse.schema import open_engine

SOURCE = "sf"
SANDBOX_ENV = {
    "SALESFORCE_PASSWORD": "sandbox-password",
    "SALESFORCE_SECURITY_TOKEN": "sandbox-token",
    "DESKMETRICS_CUSTOMER_HASH_KEY": "k" * 32,
}


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measured_backfill(
    instance_url: str, since: date, bulk_threshold: int, bulk_page_records: int, traced: bool
) -> dict[str, Any]:
    database = Path(tempfile.mkdtemp(prefix="deskmetrics-bench-sf-")) / "bench.sqlite"
    source = SalesforceSourceSettings(
        instance_url=instance_url,
        username="agent@sandbox.example",
        csat_object="Case_Survey__c",
        csat_date_field="Responded_At__c",
        bulk_threshold=bulk_threshold,
        bulk_page_records=bulk_page_records,
    )
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{database}"), sources={SOURCE: source}
    )
    config = settings.source_config(SOURCE, SANDBOX_ENV)
    engine = open_engine(settings.database_url())
    pulled: dict[str, int] = {}

    def after_page(stream: str, page: Page, until: datetime | None) -> None:
        # The peaks so far, page after page: the last call's are those of the whole pull.
        pulled["rss"] = _peak_rss_kib()
        if traced:
            pulled["traced"] = tracemalloc.get_traced_memory()[1]

    rss_before = _peak_rss_kib()
    if traced:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = pipeline.backfill(
        engine,
        settings,
        SOURCE,
        since,
        None,
        progress=after_page,
        config=config,
        policy=RetryPolicy(sleep=lambda seconds: None),  # the sandbox's jobs need no waiting
    )
    seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures: dict[str, Any] = {
        "requests": result.usage.requests,
        "by_path": result.usage.by_path,
        "streams": {s.stream: {"pages": s.pages, "records": s.records} for s in result.streams},
        "stopped": result.stopped,
        "seconds": seconds,
        "cpu": cpu,
        "rss_before": rss_before,
        "rss_pulled": pulled.get("rss", rss_before),
        "rss_scored": _peak_rss_kib(),
    }
    if traced:
        figures["traced_pulled"] = pulled.get("traced", 0)
        figures["traced_scored"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    engine.dispose()
    shutil.rmtree(database.parent)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instance-url", required=True)
    parser.add_argument("--since", type=date.fromisoformat, required=True)
    parser.add_argument("--bulk-threshold", type=int, default=10**9)
    parser.add_argument("--bulk-page-records", type=int, default=10000)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    figures = measured_backfill(
        args.instance_url, args.since, args.bulk_threshold, args.bulk_page_records, args.tracemalloc
    )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
