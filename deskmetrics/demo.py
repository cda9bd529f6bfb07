"""`deskmetrics demo`: the whole pipeline against two simulated desks, no account, no setup.

Generates two desks (two seeds, so two desks; their first agents are the same people, with
the same e-mail addresses), serves one with the Zendesk simulator and the other with the
Salesforce simulator on 127.0.0.1, backfills both into one fresh SQLite file through the
real connectors, scores, reports by agent and by person, and compares each source's rows
with the ground truth its desk's generator recorded by construction.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from deskmetrics import pipeline
from deskmetrics.page_html import write_page
from deskmetrics.pull import Progress, SourceResult
from deskmetrics.settings import (
    DatabaseSettings,
    SalesforceSourceSettings,
    Settings,
    ZendeskSourceSettings,
)
from interactions import InputError
from sandbox.desk import DeskSpec, generate_desk
from sandbox.desk import truth as desk_truth
from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce import truth as salesforce_truth
from sandbox.zendesk import ZendeskSandbox
from scoring import ReportRow
from warehouse.schema import open_engine

DEMO_SOURCE = "zendesk"
SALESFORCE_SOURCE = "salesforce"
TOKEN_ENV = "DESKMETRICS_DEMO_TOKEN"
# The first agents of both desks are the same people, with the same e-mail addresses in both
# (sandbox/desk/names.py SHARED_STAFF), whatever the seed; the desks' other agents are their own.
SHARED_STAFF = 3
# The Salesforce simulator's login (sandbox/salesforce/STATUS.md) and a fixed key for
# hashing web-to-case addresses: demo values, in variables of the demo's own names.
SALESFORCE_USERNAME = "agent@sandbox.example"
SF_PASSWORD_ENV = "DESKMETRICS_DEMO_SF_PASSWORD"
SF_TOKEN_ENV = "DESKMETRICS_DEMO_SF_TOKEN"
SF_HASH_KEY_ENV = "DESKMETRICS_DEMO_SF_HASH_KEY"
SALESFORCE_SECRETS = {
    SF_PASSWORD_ENV: "sandbox-password",
    SF_TOKEN_ENV: "sandbox-token",
    SF_HASH_KEY_ENV: "deskmetrics-demo-customer-hash-key",
}


@dataclass(frozen=True)
class SourceCheck:
    """One source of the demo: what reading it cost and where its rows differ from its truth."""

    source: str
    generated: str  # e.g. "3000 generated tickets"
    requests: int
    rows: int
    differences: tuple[str, ...]

    @property
    def matches_truth(self) -> bool:
        return not self.differences

    def verdict(self) -> str:
        read = f"{self.source}: {self.generated} read with {self.requests} API requests; "
        if self.matches_truth:
            return read + f"its rows match the ground truth in every cell ({self.rows} rows)."
        wrong = "\n  ".join(self.differences[:20])
        return read + f"its rows DIFFER from the ground truth:\n  {wrong}"


@dataclass(frozen=True)
class DemoResult:
    rows: list[ReportRow]  # by agent, both sources
    people: list[ReportRow]  # by person: those who work in both desks
    checks: list[SourceCheck]
    since: date
    until: date
    database: Path
    summary: str
    page: Path  # the manager's page of the demo's period, beside the database

    @property
    def matches_truth(self) -> bool:
        return all(check.matches_truth for check in self.checks)


def demo_settings(
    database: Path, base_url: str, email: str, instance_url: str | None = None
) -> Settings:
    """Settings of the demo's Zendesk source, and of its Salesforce source when
    `instance_url` is given."""
    sources: dict[str, ZendeskSourceSettings | SalesforceSourceSettings] = {
        DEMO_SOURCE: ZendeskSourceSettings(
            subdomain="sandbox", base_url=base_url, email=email, token_env=TOKEN_ENV
        )
    }
    if instance_url is not None:
        sources[SALESFORCE_SOURCE] = SalesforceSourceSettings(
            instance_url=instance_url,
            username=SALESFORCE_USERNAME,
            password_env=SF_PASSWORD_ENV,
            security_token_env=SF_TOKEN_ENV,
            customer_hash_key_env=SF_HASH_KEY_ENV,
            csat_question="csat",  # Feedback Management, Salesforce's own surveys
        )
    return Settings(database=DatabaseSettings(url=f"sqlite:///{database}"), sources=sources)


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
    database: Path | None,
    seed: int,
    tickets: int,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> DemoResult:
    """Generate, serve, backfill, score and report both desks (their history ends at `now`,
    by default the minute this starts); check each source's rows against its desk's truth."""
    if database is not None:
        _refuse_to_overwrite(database)
    database = database or Path(tempfile.mkdtemp(prefix="deskmetrics-demo-")) / "demo.sqlite"
    now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    zendesk_spec = DeskSpec(seed=seed, tickets=tickets, now=now, shared_staff=SHARED_STAFF)
    zendesk_desk = generate_desk(zendesk_spec)
    salesforce_desk = generate_desk(replace(zendesk_spec, seed=seed + 1))
    since = (now - timedelta(days=zendesk_spec.days + 1)).date()
    until = now.date() + timedelta(days=1)
    with ZendeskSandbox(zendesk_desk) as zendesk, SalesforceSandbox(salesforce_desk) as org:
        settings = demo_settings(database, zendesk.base_url, zendesk.email, org.instance_url)
        environ = {TOKEN_ENV: zendesk.token, **SALESFORCE_SECRETS}
        engine = open_engine(settings.database_url())
        results = {
            name: _backfill(engine, settings, name, since, environ, progress)
            for name in (DEMO_SOURCE, SALESFORCE_SOURCE)
        }
    rows = pipeline.report(engine, settings, since, until)
    people = [
        row
        for row in pipeline.report(engine, settings, since, until, by="person")
        if "+" in row.source
    ]
    truths = {
        DEMO_SOURCE: desk_truth.report_rows(
            zendesk_desk, since, until, source=DEMO_SOURCE, **_truth_settings(settings)
        ),
        SALESFORCE_SOURCE: salesforce_truth.report_rows(
            salesforce_desk,
            since,
            until,
            source=SALESFORCE_SOURCE,
            # The Salesforce connector's high-water mark is the simulator's clock, the
            # desk's `now` (Zendesk's is a minute before it, the truth's default): FCR
            # windows still open at it are pending.
            high_water_mark=salesforce_desk.now,
            **_truth_settings(settings),
        ),
    }
    checks = [
        SourceCheck(
            name,
            f"{tickets} generated {'cases' if name == SALESFORCE_SOURCE else 'tickets'}",
            results[name].usage.requests,
            len(truths[name]),
            tuple(differences([r for r in rows if r.source == name], truths[name])),
        )
        for name in (DEMO_SOURCE, SALESFORCE_SOURCE)
    ]
    page = page_beside(database)
    write_page(engine, settings, page, since, until)
    summary = _summary(checks, people, database, page)
    return DemoResult(rows, people, checks, since, until, database, summary, page)


def page_beside(database: Path) -> Path:
    """The manager's page the demo writes beside its database: same name, `.html`."""
    return database.with_suffix(".html")


def _refuse_to_overwrite(database: Path) -> None:
    """Neither the database nor the page beside it is ever written over: either path may
    be a warehouse, a report, or anything else of the user's."""
    page = page_beside(database)
    if not database.parent.is_dir():
        raise InputError(
            f"--db {database}: the folder {database.parent} does not exist. Create it, or "
            "give a path in a folder that exists."
        )
    if page == database:
        raise InputError(
            f"--db {database} ends in .html, the name of the manager's page the demo writes "
            "beside its database. Give a database path ending in .sqlite."
        )
    for path, what in ((database, "a new database"), (page, "its manager's page")):
        if path.exists() or path.is_symlink():
            raise InputError(
                f"{path} exists: the demo writes {what} there (--db {database}). Give a "
                "--db path where neither it nor the same name ending in .html exists yet, "
                "or leave --db out (a new temporary folder is used)."
            )


def _backfill(
    engine: Engine,
    settings: Settings,
    name: str,
    since: date,
    environ: dict[str, str],
    progress: Progress | None,
) -> SourceResult:
    config = settings.source_config(name, environ)
    return pipeline.backfill(engine, settings, name, since, None, progress, config=config)


def _truth_settings(settings: Settings) -> dict[str, Any]:
    """The scoring settings the ground truth is computed with: the demo's own."""
    return {
        "timezone": settings.timezone,
        "repeat_window_hours": settings.fcr.repeat_window_hours,
        "transfer_breaks_fcr": settings.fcr.transfer_breaks_fcr,
        "min_sample": settings.report.min_sample,
    }


def _summary(checks: list[SourceCheck], people: list[ReportRow], database: Path, page: Path) -> str:
    names = ", ".join(person.agent_name or person.agent_email or "?" for person in people)
    joined = (
        f"{len(people)} people work in both desks ({names}): a report by person "
        "(`--by person`) joins their rows by e-mail."
        if people
        else "No agent works in both desks (none of the shared people owned a ticket in both)."
    )
    return "\n".join(
        [
            *(f"demo: {check.verdict()}" for check in checks),
            joined,
            f"The database is {database} — query it with `sqlite3 {database} 'select * from "
            "agent_rates_by_week'` or point a BI tool at it.",
            f"The manager's page is {page} — open it in a browser (it works offline; its "
            "links to tickets lead to the simulators, which stopped with the demo).",
        ]
    )
