"""`deskmetrics reconcile` against the Salesforce sandbox, whose aggregate SOQL counts cases
per day as Salesforce does (deleted cases not in `query`, `convertTimezone` in the API
user's time zone): a warehouse synced completely reconciles with no difference; one missing
cases, or holding a case since deleted in the org, shows the day and the size of the
difference and exits 1; a settings time zone that is not the API user's is refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import delete, select

from deskmetrics.reconcile import Reconciliation, reconcile
from deskmetrics.settings import Settings
from interactions import ConfigError
from sandbox.desk.tickets import update_ticket
from tests.salesforce_desks import ENVIRON, SOURCE, ServedOrg, served_org
from warehouse.schema import interactions

PARIS = "Europe/Paris"


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[ServedOrg]:
    with served_org(tmp_path, {"user_time_zone": PARIS}) as served:
        served.sync()
        yield served


def reconciled(served: ServedOrg, timezone: str = "UTC") -> Reconciliation:
    since, until = served.period()
    settings = Settings.model_validate({**served.settings.model_dump(), "timezone": timezone})
    with patch.dict(os.environ, ENVIRON):
        return reconcile(served.engine, settings, SOURCE, since, until, served.desk.now)


def test_a_completely_synced_org_reconciles_with_no_difference(synced: ServedOrg) -> None:
    found = reconciled(synced)
    assert len(found.compared) >= 20 and found.differing == []
    assert sum(day.at_source for day in found.compared) > 0
    assert found.requests <= 2  # a login and one aggregate query for the whole period


def test_days_in_the_api_users_time_zone_reconcile_when_the_settings_share_it(
    synced: ServedOrg,
) -> None:
    found = reconciled(synced, PARIS)
    assert len(found.compared) >= 20 and found.differing == []
    assert sum(day.at_source for day in found.compared) > 0


def test_a_settings_time_zone_other_than_the_api_users_is_refused(synced: ServedOrg) -> None:
    with pytest.raises(ConfigError, match=r"API user's time zone Europe/Paris.*America/Chicago"):
        reconciled(synced, "America/Chicago")


def test_a_warehouse_missing_cases_shows_the_days_and_the_sizes(synced: ServedOrg) -> None:
    with synced.engine.begin() as conn:
        page = conn.execute(
            select(interactions.c.interaction_id, interactions.c.created_at)
            .where(interactions.c.deleted.is_(False))
            .order_by(interactions.c.created_at)
            .limit(25)
        ).all()
        conn.execute(
            delete(interactions).where(
                interactions.c.interaction_id.in_([row.interaction_id for row in page])
            )
        )
    missing: dict[object, int] = {}
    for row in page:
        missing[row.created_at.date()] = missing.get(row.created_at.date(), 0) - 1
    found = reconciled(synced)
    assert {day.day: day.difference for day in found.differing} == missing


def test_a_case_deleted_in_the_org_since_the_sync_shows_on_its_day(synced: ServedOrg) -> None:
    desk = synced.desk
    old = desk.now - timedelta(days=5)
    ticket = next(t for t in desk.tickets.values() if not t.deleted and t.created_at < old)
    with desk.lock:
        update_ticket(desk, ticket, desk.now, 1, status="deleted")
    found = reconciled(synced)
    assert [(d.day, d.difference) for d in found.differing] == [(ticket.created_at.date(), 1)]


def test_reconcile_exits_1_naming_the_day_and_the_requests_spent(synced: ServedOrg) -> None:
    desk = synced.desk
    ticket = next(
        t
        for t in desk.tickets.values()
        if not t.deleted and t.created_at < desk.now - timedelta(days=3)
    )
    with desk.lock:
        update_ticket(desk, ticket, desk.now, 1, status="deleted")
    since, until = synced.period()
    done = synced.cli("reconcile", "--source", SOURCE, "--since", str(since), "--until", str(until))
    day = ticket.created_at.date()
    assert done.returncode == 1
    assert f"{day}: stored " in done.stdout and "difference +1" in done.stdout
    assert " requests" in done.stdout
    assert done.stderr.startswith(f"Error: {SOURCE}: 1 days differ from the source's own counts")
