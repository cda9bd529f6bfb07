"""A generated desk served through the Salesforce simulator on 127.0.0.1, and a real settings
file and environment that point deskmetrics at it (tests/desks.py for Zendesk)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sqlalchemy import Engine

from connectors.http import RetryPolicy
from deskmetrics import pipeline
from deskmetrics.pull import SourceResult
from deskmetrics.settings import Settings, load_settings
from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce import truth as salesforce_truth
from tests.desks import TEST_TIMEOUT_SECONDS, desk_now, run_cli
from warehouse.schema import open_engine

SOURCE = "service"
# A desk whose cases, history and answers each take several REST pages of 200.
DESK = {"agents": 8, "groups": 3, "customers": 150, "tickets": 400, "days": 20}
ENVIRON = {
    "DESKMETRICS_TEST_SF_PASSWORD": "sandbox-password",
    "DESKMETRICS_TEST_SF_TOKEN": "sandbox-token",
    "DESKMETRICS_TEST_SF_HASH_KEY": "a-test-key-for-web-to-case-addresses",
}
CUSTOM_OBJECT = {"csat_object": "Case_Survey__c", "csat_date_field": "Responded_At__c"}
FEEDBACK = {"csat_question": "csat"}


@dataclass
class ServedOrg:
    desk: Desk
    sandbox: SalesforceSandbox
    settings_path: Path
    settings: Settings
    engine: Engine
    sleeps: list[float]

    def policy(self) -> RetryPolicy:
        """The settings' retry policy with a sleep that records instead of waiting."""
        base = self.settings.retry_policy()
        return RetryPolicy(
            max_attempts=base.max_attempts,
            max_wait_seconds=base.max_wait_seconds,
            timeout_seconds=TEST_TIMEOUT_SECONDS,
            sleep=self.sleeps.append,
        )

    def backfill(self) -> SourceResult:
        since, _ = self.period()
        return pipeline.backfill(
            self.engine, self.settings, SOURCE, since, None,
            config=self.settings.source_config(SOURCE, ENVIRON), policy=self.policy(),
        )  # fmt: skip

    def sync(self) -> list[SourceResult]:
        """`pipeline.sync` in-process, the secrets in the environment as a user sets them."""
        with patch.dict(os.environ, ENVIRON):
            return pipeline.sync(self.engine, self.settings)

    def cli(self, command: str, *args: str) -> Any:
        return run_cli([command, "--config", str(self.settings_path), *args], ENVIRON)

    def period(self) -> tuple[date, date]:
        start = (self.desk.now - timedelta(days=DESK["days"] + 2)).date()
        return start, self.desk.now.date() + timedelta(days=1)

    def report(self) -> list[dict[str, Any]]:
        since, until = self.period()
        rows = pipeline.report(self.engine, self.settings, since, until)
        return [asdict(row) for row in rows]

    def truth(self) -> list[dict[str, Any]]:
        """The desk's ground truth in Salesforce terms; FCR windows still open at the end of
        the last window read (the server's clock, `Date`) are pending."""
        since, until = self.period()
        return salesforce_truth.report_rows(
            self.desk, since, until, high_water_mark=self.desk.now, source=SOURCE
        )


def write_settings(path: Path, database: Path, instance_url: str, **source: Any) -> None:
    extra = "\n".join(
        f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"'
        for key, value in source.items()
    )
    path.write_text(
        f"""[database]
url = "sqlite:///{database}"
[http]
max_attempts = 3
max_wait_seconds = 10
timeout_seconds = {TEST_TIMEOUT_SECONDS}
backoff_initial_seconds = 0.05
backoff_max_seconds = 0.2
[sync]
initial_lookback_days = {DESK["days"] + 2}
[sources.{SOURCE}]
type = "salesforce"
instance_url = "{instance_url}"
username = "agent@sandbox.example"
password_env = "DESKMETRICS_TEST_SF_PASSWORD"
security_token_env = "DESKMETRICS_TEST_SF_TOKEN"
customer_hash_key_env = "DESKMETRICS_TEST_SF_HASH_KEY"
{extra}
"""
    )


@contextmanager
def served_org(
    tmp_path: Path, sandbox: dict[str, Any] | None = None, desk: Desk | None = None, **source: Any
) -> Iterator[ServedOrg]:
    """A desk (new unless given) behind a Salesforce simulator with `sandbox` arguments
    (REST pages of 200 unless said), and settings of one source with `source` keys."""
    desk = desk or generate_desk(DeskSpec(now=desk_now(), **DESK))
    with SalesforceSandbox(desk, **{"page_size": 200, **(sandbox or {})}) as org:
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "settings.toml"
        write_settings(path, tmp_path / "warehouse.sqlite", org.instance_url, **source)
        settings = load_settings(path)
        yield ServedOrg(desk, org, path, settings, open_engine(settings.database_url()), [])


def retries_of_a_bent_backfill(
    tmp_path: Path, source: dict[str, Any], bend: str, times: int = 1, path: str | None = None
) -> int:
    """Backfill an org whose answers are bent (`SalesforceSandbox.bend`) `times`, at
    requests whose path holds `path`: its report must equal the org's truth (nothing lost),
    and the retries it took are returned."""
    with served_org(tmp_path, **source) as org:
        org.sandbox.bend(bend, times=times, path_contains=path)
        retried = org.backfill().usage.retries
        assert org.report() == org.truth()
    return retried


def backfill_key(org: ServedOrg, stream: str) -> str:
    """The cursor key of an open backfill of `stream` from the org's period start."""
    since, _ = org.period()
    return f"backfill:{since.isoformat()}:open:{stream}"


def one_error_line(result: Any) -> str:
    """The one `Error: …` line of a command that failed as a user should see it."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]
