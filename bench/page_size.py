"""The manager's page's size for a large desk: 100 agents, 26 weeks.

    python -m bench.page_size [--agents 100] [--weeks 26] [--tickets 20000]

Generates a Zendesk desk of that many agents over the weeks, serves it with the
simulator on 127.0.0.1, backfills it into a fresh SQLite file, writes the page of the
whole period with every week in its trends, and prints the page's size (README
"Dependencies" quotes it; the page must stay under 2 MB).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskmetrics import pipeline
from deskmetrics.demo import DEMO_SOURCE, TOKEN_ENV, demo_settings
from deskmetrics.page_html import write_page
from sandbox.desk import DeskSpec, generate_desk
from sandbox.zendesk import ZendeskSandbox
from warehouse.schema import open_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--tickets", type=int, default=20000)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    days = 7 * args.weeks
    desk = generate_desk(
        DeskSpec(now=now, agents=args.agents, tickets=args.tickets, days=days, customers=6000)
    )
    folder = Path(tempfile.mkdtemp(prefix="deskmetrics-page-size-"))
    database = folder / "desk.sqlite"
    with ZendeskSandbox(desk) as served:
        settings = demo_settings(database, served.base_url, served.email)
        engine = open_engine(settings.database_url())
        since = (now - timedelta(days=days)).date()
        config = settings.source_config(DEMO_SOURCE, {TOKEN_ENV: served.token})
        pipeline.backfill(engine, settings, DEMO_SOURCE, since, None, config=config)
    until = now.date() + timedelta(days=1)
    page = folder / "page.html"
    data = write_page(engine, settings, page, since, until, weeks=args.weeks + 1)
    size = page.stat().st_size
    print(f"page: {page}: {size:,} bytes ({size / 1e6:.2f} MB) for {len(data.rows)} rows, "
          f"{len(data.weeks)} weeks")  # fmt: skip


if __name__ == "__main__":
    main()
