"""One Zendesk backfill through the real pipeline, measured in a process of its own, for
bench/zendesk_speed.py.

    python bench/zendesk_measured.py --base-url URL --days 60 [--postgres URL]

Backfills the demo source from the sandbox at URL into a new SQLite file (or, with
`--postgres`, a new database on that server, dropped afterwards) and prints one JSON line:
requests, records read, CPU seconds (`cpu`: the whole backfill; `cpu_stored`: until the
last page was stored, without the scoring that follows; both `time.process_time()`, the
process's own user + system time; `cpu_import`: importing the connector's module with zenpy,
once per process, before the clock starts, as the other imports are) and the peak resident
set (ru_maxrss, KiB) when the last page was stored (`rss_pulled`) and after scoring
(`rss_scored`). The code that runs is the first deskmetrics on the path: PYTHONPATH chooses
a checkout (`code` says which).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from salesforce_measured import fresh_database, imported_cpu

from connectors.protocol import Page
from deskmetrics import pipeline
from deskmetrics.demo import DEMO_SOURCE, TOKEN_ENV, demo_settings
from warehouse.schema import open_engine


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measured_backfill(base_url: str, days: int, database_url: str) -> dict[str, Any]:
    settings = demo_settings(Path("unused.sqlite"), base_url, "demo@example.com")
    # The whole allowance: the sandbox counts requests per minute of its frozen clock, which
    # never turns, so past the default half share each request would wait for a reset that
    # never comes (a wait, not CPU; a large desk's backfill took hours of it).
    settings = settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": database_url}),
            "http": settings.http.model_copy(update={"max_quota_share": 1.0}),
        }
    )
    config = settings.zendesk_config(DEMO_SOURCE, environ={TOKEN_ENV: "sandbox-token"})
    engine = open_engine(settings.database_url())
    since = (datetime.now(UTC) - timedelta(days=days + 1)).date()
    pulled: dict[str, float] = {}

    def after_page(stream: str, page: Page, until: datetime | None) -> None:
        # The last call's figures are those of the whole pull, before scoring.
        pulled["cpu"] = time.process_time()
        pulled["rss"] = _peak_rss_kib()

    import_cpu = imported_cpu("connectors.zendesk")
    rss_before = _peak_rss_kib()
    started = time.process_time()
    result = pipeline.backfill(
        engine, settings, DEMO_SOURCE, since, None, progress=after_page, config=config
    )
    figures: dict[str, Any] = {
        "requests": result.usage.requests,
        "records": sum(s.records for s in result.streams),
        "tickets": next((s.records for s in result.streams if s.stream == "tickets"), 0),
        "cpu": time.process_time() - started,
        "cpu_stored": pulled.get("cpu", started) - started,
        "cpu_import": import_cpu,
        "rss_before": rss_before,
        "rss_pulled": pulled.get("rss", rss_before),
        "rss_scored": _peak_rss_kib(),
        "code": str(Path(pipeline.__file__).resolve().parent.parent),
    }
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--postgres", default=None, metavar="URL")
    args = parser.parse_args()
    with fresh_database(args.postgres) as url:
        figures = measured_backfill(args.base_url, args.days, url)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
