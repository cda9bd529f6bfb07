"""`deskmetrics check`: is this installation ready to run? One result per check, each ok or
FAILED with the cause and the fix (what Airbyte users know as `check`):

    settings          the file reads and every value is valid
    secret S          the environment variable holding source S's token is set (and the
                      database password's, when `database.password_env` names one)
    source S          enabled source S answers one cheap authenticated request
    database          it opens (a new one is created, an old one upgraded, as any command does)
    database writes   a row written in a transaction that is rolled back: nothing is kept

Whether a refused write means a read-only database: `is_read_only` (warehouse/access.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connectors.http import RetryPolicy
from connectors.registry import open_connector
from deskmetrics.settings import DEFAULT_PATH, NO_ENABLED_SOURCE, Settings, load_settings
from interactions import DeskmetricsError
from warehouse.access import is_read_only, shown_url
from warehouse.schema import open_engine, sync_state

# A check asks once more after a blip, and waits little: it says how things stand now.
CHECK_ATTEMPTS = 2
CHECK_MAX_WAIT_SECONDS = 10.0
PROBE = "*check*"  # the key of the row the write probe writes and rolls back


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str  # what was confirmed, or why it failed and how to fix it

    def line(self) -> str:
        return (
            f"{self.name}: ok ({self.detail})" if self.ok else f"{self.name}: FAILED: {self.detail}"
        )


def run_checks(
    config_path: Path | None,
    environ: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
) -> list[CheckResult]:
    """Every check, in order; the ones that need valid settings only once they are valid.
    `policy` replaces the bounded retry policy made from the settings (tests)."""
    env = dict(os.environ) if environ is None else dict(environ)
    try:
        settings = load_settings(config_path)
        settings.scoring()  # the CSAT scale is checked when scoring settings are made
    except DeskmetricsError as bad:
        return [CheckResult("settings", False, str(bad))]
    enabled = settings.enabled_sources()
    where = config_path or DEFAULT_PATH
    results = [
        CheckResult(
            "settings",
            True,
            f"{where} is valid; enabled sources: {', '.join(enabled) or 'none'}",
        )
    ]
    if not enabled:
        results.append(CheckResult("sources", False, NO_ENABLED_SOURCE))
    results.extend(_source_checks(settings, enabled, env, policy))
    results.extend(_database_checks(settings, env))
    return results


def _source_checks(
    settings: Settings, enabled: list[str], env: dict[str, str], policy: RetryPolicy | None
) -> list[CheckResult]:
    results = []
    if policy is None:
        base = settings.retry_policy()
        policy = replace(
            base,
            max_attempts=min(base.max_attempts, CHECK_ATTEMPTS),
            max_wait_seconds=min(base.max_wait_seconds, CHECK_MAX_WAIT_SECONDS),
        )
    for name in enabled:
        unfilled = settings.sources[name].unfilled()
        if unfilled:
            results.append(
                CheckResult(
                    f"source {name}",
                    False,
                    f"[sources.{name}] is enabled but {' and '.join(unfilled)} "
                    f"{'is' if len(unfilled) == 1 else 'are'} empty: fill in or disable it "
                    "(enabled = false).",
                )
            )
            continue
        try:
            config = settings.source_config(name, env)
        except DeskmetricsError as missing:
            results.append(CheckResult(f"secret {name}", False, str(missing)))
            results.append(CheckResult(f"source {name}", False, "not tried without its secrets"))
            continue
        results.append(CheckResult(f"secret {name}", True, f"{config.secret_envs}: set"))
        try:
            source_type = settings.sources[name].type
            with open_connector(source_type, name, config, policy) as connector:
                results.append(CheckResult(f"source {name}", True, connector.check()))
        except DeskmetricsError as refused:
            results.append(CheckResult(f"source {name}", False, str(refused)))
    return results


def _database_checks(settings: Settings, env: dict[str, str]) -> list[CheckResult]:
    results = []
    variable = settings.database.password_env
    if variable:
        present = bool(env.get(variable))
        results.append(
            CheckResult(
                "secret database",
                present,
                f"{variable} is set"
                if present
                else f"{variable} (named by database.password_env) is not set; export it",
            )
        )
    try:
        engine = open_engine(settings.database_url(env), min_sample=settings.report.min_sample)
    except DeskmetricsError as bad:
        return [*results, CheckResult("database", False, str(bad))]
    shown = shown_url(engine.url)
    try:
        results.append(CheckResult("database", True, f"{shown} opens"))
        problem = write_problem(engine)
        results.append(
            CheckResult(
                "database writes",
                problem is None,
                problem or "a row was written and rolled back",
            )
        )
    finally:
        engine.dispose()
    return results


def write_problem(engine: Engine) -> str | None:
    """Why the database refuses a write, or None: a row is written in a transaction that
    is rolled back, so nothing is kept."""
    shown = shown_url(engine.url)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(
                sync_state.insert().values(source=PROBE, stream=PROBE, updated_at=datetime.now(UTC))
            )
        except SQLAlchemyError as refused:
            cause = str(getattr(refused, "orig", None) or refused).splitlines()[0]
            kind = "it is read-only" if is_read_only(refused) else "the write failed"
            return (
                f"{shown} opens but cannot be written: {kind} ({cause}). sync, backfill and "
                "score write to it: give this user write access (for SQLite, the file and "
                "its folder), or point database.url at a writable database."
            )
        finally:
            transaction.rollback()
    return None
