"""Sandbox desks for end-to-end tests: a generated desk served on 127.0.0.1, and settings
that point deskmetrics at it through a real settings file and environment variable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sqlalchemy import Engine, select

from connectors.http import RetryPolicy
from connectors.zendesk_config import ZendeskConfig
from deskmetrics import pipeline
from deskmetrics.pull import SourceResult
from deskmetrics.settings import Settings, load_settings
from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.zendesk import ZendeskSandbox
from warehouse.schema import metadata, open_engine

TOKEN_ENV = "DESKMETRICS_TEST_ZENDESK_TOKEN"
SMALL = {"agents": 10, "groups": 3, "customers": 300, "tickets": 1200, "days": 30}
# For tests where the desk's size shows nothing: a quarter of SMALL, several pages still.
TINY = {"customers": 100, "tickets": 300}
# Seconds before a test's request to the sandbox is abandoned; see `Served.policy`.
TEST_TIMEOUT_SECONDS = 30.0


@dataclass
class Served:
    desk: Desk
    sandbox: ZendeskSandbox
    settings_path: Path
    settings: Settings
    engine: Engine
    sleeps: list[float]

    @property
    def environ(self) -> dict[str, str]:
        return {TOKEN_ENV: self.sandbox.token}

    def config(self) -> ZendeskConfig:
        return self.settings.zendesk_config("zendesk", environ=self.environ)

    def policy(self, **overrides: Any) -> RetryPolicy:
        """The settings' retry policy with a sleep that records instead of waiting."""
        base = self.settings.retry_policy()
        return RetryPolicy(
            max_attempts=overrides.get("max_attempts", base.max_attempts),
            max_wait_seconds=overrides.get("max_wait_seconds", base.max_wait_seconds),
            # A margin no loaded machine uses up (a page is served in milliseconds): a
            # spurious timeout would add a retry and change what a test counts.
            timeout_seconds=overrides.get("timeout_seconds", TEST_TIMEOUT_SECONDS),
            max_quota_share=overrides.get("max_quota_share", base.max_quota_share),
            sleep=self.sleeps.append,
        )

    def backfill(self, **policy: Any) -> SourceResult:
        """Backfill the whole desk in-process, with the retry policy's sleep recorded."""
        since, _ = self.period()
        return pipeline.backfill(
            self.engine, self.settings, "zendesk", since, None,
            config=self.config(), policy=self.policy(**policy),
        )  # fmt: skip

    def cli(self, command: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`deskmetrics COMMAND --config <this desk's settings> ARGS` in a child process."""
        config = ["--config", str(self.settings_path)]
        return run_cli([command, *config, *args], {**self.environ, **env})

    def sync(self) -> list[SourceResult]:
        """`pipeline.sync` in-process, the token in its environment variable as a user sets it."""
        with patch.dict(os.environ, self.environ):
            return pipeline.sync(self.engine, self.settings)

    def period(self) -> tuple[date, date]:
        start = (self.desk.now - timedelta(days=SMALL["days"] + 2)).date()
        return start, self.desk.now.date() + timedelta(days=1)


def run_cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "deskmetrics", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def write_settings(path: Path, database: Path, base_url: str, timezone: str = "UTC") -> None:
    path.write_text(
        f"""timezone = "{timezone}"
[database]
url = "sqlite:///{database}"
[http]
max_attempts = 3
max_wait_seconds = 10
timeout_seconds = {TEST_TIMEOUT_SECONDS}
backoff_initial_seconds = 0.05
backoff_max_seconds = 0.2
[sources.zendesk]
subdomain = "sandbox"
base_url = "{base_url}"
email = "demo@example.com"
token_env = "{TOKEN_ENV}"
"""
    )


# The "now" of the desks a test generates: the wall clock to the minute when the test
# started (conftest sets it before each test). Two desks of one test are the same desk
# even when the test runs across a minute boundary, which a slow machine makes likely.
_desk_now: datetime | None = None


def set_desk_now(now: datetime | None) -> None:
    """Fix the "now" of every desk generated until the next call (None: the wall clock)."""
    global _desk_now
    _desk_now = now


def desk_now() -> datetime:
    return _desk_now or datetime.now(UTC).replace(second=0, microsecond=0)


@contextmanager
def served_desk(tmp_path: Path, timezone: str = "UTC", **spec: Any) -> Iterator[Served]:
    desk = generate_desk(DeskSpec(now=desk_now(), **{**SMALL, **spec}))
    with ZendeskSandbox(desk) as sandbox:
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "settings.toml"
        write_settings(path, tmp_path / "warehouse.sqlite", sandbox.base_url, timezone)
        settings = load_settings(path)
        yield Served(desk, sandbox, path, settings, open_engine(settings.database_url()), [])


def table_dump(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every model and fact row, without bookkeeping columns that hold wall-clock times."""
    # Bookkeeping, and what comes of settings rather than data (`source_links`: the source's
    # address, which differs from sandbox to sandbox).
    skip_tables = {
        "runs", "sync_state", "dirty_days", "schema_version", "source_completeness",
        "source_links",
    }  # fmt: skip
    skip_columns = {"seen_at", "computed_at"}
    dump = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in skip_tables:
                continue
            columns = [c for c in table.columns if c.name not in skip_columns]
            dump[table.name] = sorted(
                tuple(str(v) for v in row) for row in conn.execute(select(*columns))
            )
    return dump
