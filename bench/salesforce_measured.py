"""One Salesforce backfill through the real pipeline, measured in a process of its own, for
bench/salesforce.py.

    python bench/salesforce_measured.py --instance-url URL --since 2024-01-01
        [--bulk-threshold N] [--bulk-page-records N] [--tracemalloc] [--postgres URL]

Backfills source "sf" from the sandbox at URL into a new SQLite file (or, with `--postgres`,
a new database on that PostgreSQL server, dropped afterwards), then prints one JSON line:
the connector's requests (`requests`, `by_path`), pages and records read per stream, wall
and CPU seconds (`cpu`: the whole backfill; `cpu_stored`: until the last page was stored,
the read-and-store path without the scoring that follows; both `time.process_time()`, the
process's own user + system time; `cpu_import`: importing the connector's module with
simple-salesforce, once per process, before the clock starts, as the other imports are),
and memory: `rss_before` (the process's peak resident set, ru_maxrss, after imports and an
empty database, before the backfill), `rss_pulled` (the peak when the last page was stored,
before scoring) and `rss_scored` (the peak after the backfill's scoring), in KiB. With
`--tracemalloc`, tracing starts after imports (so they are not counted) and `traced_pulled`
/ `traced_scored` are the traced peaks at the same moments, in bytes; tracing slows the run
and its own bookkeeping inflates the RSS figures, so bench/salesforce.py runs it apart.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shutil
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

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


@contextmanager
def fresh_database(postgres: str | None) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file, or a database of its own on the
    `postgres` server; removed afterwards (bench/salesforce.py, bench/zendesk_speed.py and
    bench/score.py all measure on one)."""
    if postgres is None:
        folder = Path(tempfile.mkdtemp(prefix="deskmetrics-bench-sf-"))
        try:
            yield f"sqlite:///{folder / 'bench.sqlite'}"
        finally:
            shutil.rmtree(folder)
        return
    name = f"dm_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def imported_cpu(module: str) -> float:
    """The CPU seconds of importing `module` (a connector's, which loads its API client
    library): paid once per process whatever the org's size, so kept out of the per-record
    figures and shown apart, like the imports before it."""
    started = time.process_time()
    importlib.import_module(module)
    return time.process_time() - started


def measured_backfill(
    instance_url: str,
    since: date,
    bulk_threshold: int,
    bulk_page_records: int,
    traced: bool,
    database_url: str,
) -> dict[str, Any]:
    source = SalesforceSourceSettings(
        instance_url=instance_url,
        username="agent@sandbox.example",
        csat_object="Case_Survey__c",
        csat_date_field="Responded_At__c",
        bulk_threshold=bulk_threshold,
        bulk_page_records=bulk_page_records,
    )
    settings = Settings(database=DatabaseSettings(url=database_url), sources={SOURCE: source})
    config = settings.source_config(SOURCE, SANDBOX_ENV)
    engine = open_engine(settings.database_url())
    pulled: dict[str, float] = {}

    def after_page(stream: str, page: Page, until: datetime | None) -> None:
        # The peaks so far, page after page: the last call's are those of the whole pull.
        pulled["cpu"] = time.process_time()
        pulled["rss"] = _peak_rss_kib()
        if traced:
            pulled["traced"] = tracemalloc.get_traced_memory()[1]

    import_cpu = imported_cpu("connectors.salesforce")
    rss_before = _peak_rss_kib()
    if traced:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    started_cpu = cpu
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
        "cpu_stored": pulled.get("cpu", started_cpu) - started_cpu,
        "cpu_import": import_cpu,
        "records": sum(s.records for s in result.streams),
        "code": str(Path(pipeline.__file__).resolve().parent.parent),  # which checkout ran
        "rss_before": rss_before,
        "rss_pulled": pulled.get("rss", rss_before),
        "rss_scored": _peak_rss_kib(),
    }
    if traced:
        figures["traced_pulled"] = pulled.get("traced", 0)
        figures["traced_scored"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instance-url", required=True)
    parser.add_argument("--since", type=date.fromisoformat, required=True)
    parser.add_argument("--bulk-threshold", type=int, default=10**9)
    parser.add_argument("--bulk-page-records", type=int, default=10000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument(
        "--postgres", default=None, metavar="URL", help="a PostgreSQL server instead of SQLite"
    )
    args = parser.parse_args()
    with fresh_database(args.postgres) as url:
        figures = measured_backfill(
            args.instance_url,
            args.since,
            args.bulk_threshold,
            args.bulk_page_records,
            args.tracemalloc,
            url,
        )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
