"""docs/metrics.md "People across sources": a Zendesk desk and a Salesforce desk backfilled into one
warehouse (a real SQLite file, both real connectors over 127.0.0.1), some agents working in
both, reported by person: each person's row is the sum of their agents' rows, rates and
intervals recomputed from the sums; unassigned rows stay per source."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from connectors.http import RetryPolicy
from deskmetrics import pipeline
from deskmetrics.settings import (
    DatabaseSettings,
    SalesforceSourceSettings,
    Settings,
    ZendeskSourceSettings,
)
from interactions import Agent
from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.model import User
from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce import truth as salesforce_truth
from sandbox.salesforce.ids import user_id
from sandbox.zendesk import ZendeskSandbox
from scoring import ReportRow, ScoringSettings, Totals, report_rows
from tests.desks import TEST_TIMEOUT_SECONDS, desk_now
from warehouse.schema import open_engine

ZENDESK, SALESFORCE = "zendesk", "salesforce"
DESK = {"tickets": 300, "customers": 200, "days": 20}
ZENDESK_TOKEN_ENV = "DESKMETRICS_TEST_ZD_TOKEN"
SALESFORCE_SECRETS = {
    "DESKMETRICS_TEST_SF_PASSWORD": "sandbox-password",
    "DESKMETRICS_TEST_SF_TOKEN": "sandbox-token",
    "DESKMETRICS_TEST_SF_HASH_KEY": "a-test-key-for-web-to-case-addresses",
}
COUNTS = ("handled", "transferred_out", "resolved", "fcr_eligible", "fcr")
CSAT_COUNTS = ("csat_responses", "csat_satisfied")
MIN_SAMPLE = 30


@dataclass(frozen=True)
class Warehouse:
    """Both desks backfilled into one warehouse, and who works in both."""

    zendesk: Desk
    salesforce: Desk
    engine: Engine
    settings: Settings
    since: date
    until: date
    hired: list[tuple[User, User]]  # (Zendesk agent, the same person's Salesforce user)

    def report(self, by: str) -> list[ReportRow]:
        return pipeline.report(self.engine, self.settings, self.since, self.until, by=by)


def hire(zendesk: Desk, salesforce: Desk) -> list[tuple[User, User]]:
    """Three Zendesk agents also work on the Salesforce desk, as three of its users: one with
    the same name and address, one whose address is typed in upper case, and one who has
    left the Salesforce desk and is named there by first name only."""
    staff = [u for u in zendesk.agents() if u.available_until is None][2:5]
    users = salesforce.agents()
    leaver = next(u for u in users if u.available_until is not None)
    pairs = list(zip(staff, [users[2], users[3], leaver], strict=True))
    for (person, user), email, name in zip(
        pairs,
        (staff[0].email, staff[1].email.upper(), staff[2].email),
        (staff[0].name, staff[1].name, staff[2].name.split()[0]),
        strict=True,
    ):
        assert person.email.casefold() != user.email.casefold()
        user.email, user.name = email, name
    return pairs


def settings_for(database: Path, base_url: str, instance_url: str) -> Settings:
    return Settings(
        database=DatabaseSettings(url=f"sqlite:///{database}"),
        sources={
            ZENDESK: ZendeskSourceSettings(
                base_url=base_url, email="demo@example.com", token_env=ZENDESK_TOKEN_ENV
            ),
            SALESFORCE: SalesforceSourceSettings(
                instance_url=instance_url,
                username="agent@sandbox.example",
                password_env="DESKMETRICS_TEST_SF_PASSWORD",
                security_token_env="DESKMETRICS_TEST_SF_TOKEN",
                customer_hash_key_env="DESKMETRICS_TEST_SF_HASH_KEY",
                csat_object="Case_Survey__c",
                csat_date_field="Responded_At__c",
            ),
        },
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    now = desk_now()
    zendesk = generate_desk(DeskSpec(now=now, seed=7, **DESK))
    salesforce = generate_desk(DeskSpec(now=now, seed=8, **DESK))
    hired = hire(zendesk, salesforce)
    since = (now - timedelta(days=DESK["days"] + 2)).date()
    database = tmp_path_factory.mktemp("people") / "warehouse.sqlite"
    with ZendeskSandbox(zendesk) as zendesk_api, SalesforceSandbox(salesforce) as org:
        settings = settings_for(database, zendesk_api.base_url, org.instance_url)
        environ = {**SALESFORCE_SECRETS, ZENDESK_TOKEN_ENV: zendesk_api.token}
        engine = open_engine(settings.database_url())
        for name in (ZENDESK, SALESFORCE):
            pipeline.backfill(
                engine, settings, name, since, None,
                config=settings.source_config(name, environ),
                policy=RetryPolicy(timeout_seconds=TEST_TIMEOUT_SECONDS, sleep=lambda _: None),
            )  # fmt: skip
    return Warehouse(
        zendesk, salesforce, engine, settings, since, now.date() + timedelta(days=1), hired
    )


def members(person: ReportRow) -> list[tuple[str, str]]:
    """The (source, agent_id) of each agent a person row joins, from its `agent_id`."""
    assert person.agent_id is not None
    return [tuple(part.split(":", 1)) for part in person.agent_id.split("+")]  # type: ignore[misc]


def address(row: ReportRow) -> str:
    assert row.agent_email
    return row.agent_email.casefold()


# ---- the warehouse's two reports -----------------------------------------------------------


def test_every_person_row_is_the_sum_of_the_agent_rows_with_its_address(
    warehouse: Warehouse,
) -> None:
    agents = [r for r in warehouse.report("agent") if r.agent_id is not None]
    people = [r for r in warehouse.report("person") if r.agent_id is not None]
    by_address: dict[str, list[ReportRow]] = defaultdict(list)
    for row in agents:
        by_address[address(row)].append(row)
    assert sorted(address(p) for p in people) == sorted(by_address)
    for person in people:
        joined = by_address[address(person)]
        assert sorted(members(person)) == sorted((r.source, r.agent_id) for r in joined)
        for count in (*COUNTS, *CSAT_COUNTS):
            assert getattr(person, count) == sum(getattr(r, count) for r in joined), count


def test_people_who_work_in_both_desks_are_one_row_of_both_sources(
    warehouse: Warehouse,
) -> None:
    people = {address(r): r for r in warehouse.report("person") if r.agent_id is not None}
    for zendesk_agent, salesforce_user in warehouse.hired:
        person = people[zendesk_agent.email.casefold()]
        assert person.source == "salesforce+zendesk"
        assert person.agent_id == (
            f"salesforce:{user_id(salesforce_user.id)}+zendesk:{zendesk_agent.id}"
        )
        # docs/metrics.md: the name of the first source's agent, the address in lower case.
        assert person.agent_name == salesforce_user.name
        assert person.agent_email == zendesk_agent.email.lower()
    joined = [r for r in people.values() if "+" in r.source]
    assert len(joined) == len(warehouse.hired) == 3


def test_a_person_has_the_same_key_in_each_days_report_as_in_the_whole_periods(
    warehouse: Warehouse,
) -> None:
    def keys(rows: list[ReportRow]) -> dict[str, tuple[str, str | None, str | None]]:
        return {address(r): (r.source, r.agent_id, r.agent_name) for r in rows if r.agent_id}

    whole = keys(warehouse.report("person"))
    hired = {zendesk_agent.email.casefold() for zendesk_agent, _ in warehouse.hired}
    one_sided = 0  # days on which a person of both desks worked in one of them only
    day = warehouse.since
    while day < warehouse.until:
        one_day = (warehouse.engine, warehouse.settings, day, day + timedelta(days=1))
        for person, key in keys(pipeline.report(*one_day, by="person")).items():
            assert key == whole[person], (day, person)
        by_agent = [r for r in pipeline.report(*one_day, by="agent") if r.agent_id]
        worked = Counter(address(r) for r in by_agent if address(r) in hired)
        one_sided += sum(1 for n in worked.values() if n == 1)
        day += timedelta(days=1)
    assert one_sided, "no day on which a person of both desks worked in one of them only"


def test_unassigned_rows_stay_per_source_by_person(warehouse: Warehouse) -> None:
    by_agent = [r for r in warehouse.report("agent") if r.agent_id is None]
    by_person = [r for r in warehouse.report("person") if r.agent_id is None]
    assert [r.source for r in by_person] == [SALESFORCE, ZENDESK]
    assert by_person == by_agent


# ---- against both desks' ground truth --------------------------------------------------------


def _round1(value: Decimal | float) -> float:
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _rate(successes: int, trials: int) -> list[float | None]:
    """docs/metrics.md "Confidence": percentage and 95 % Wilson interval, one decimal half-up."""
    if trials == 0:
        return [None, None, None]
    z, p = 1.96, successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    pct = _round1(Decimal(100 * successes) / Decimal(trials))
    return [pct, _round1(100 * low), _round1(100 * high)]


def person_cells(counts: Counter[str]) -> list[Any]:
    """A person's figures as docs/metrics.md computes them from the summed counts."""
    flagged = [
        metric
        for metric, n in (
            ("transfer", counts["handled"]),
            ("fcr", counts["fcr_eligible"]),
            ("csat", counts["csat_responses"]),
        )
        if 0 < n < MIN_SAMPLE
    ]
    responses = counts["csat_responses"]
    mean = _round1(Decimal(counts["csat_score_sum"]) / responses) if responses else None
    return [
        *(counts[name] for name in COUNTS[:2]),
        *_rate(counts["transferred_out"], counts["handled"]),
        *(counts[name] for name in COUNTS[2:]),
        *_rate(counts["fcr"], counts["fcr_eligible"]),
        *(counts[name] for name in CSAT_COUNTS),
        *_rate(counts["csat_satisfied"], responses),
        mean,
        " ".join(flagged),
    ]


def truth_by_address(warehouse: Warehouse) -> dict[str, Counter[str]]:
    """Each person's summed counts in both desks' ground truth, by lower-case address."""
    zendesk_users = {str(u.id): u for u in warehouse.zendesk.users.values()}
    salesforce_users = {user_id(u.id): u for u in warehouse.salesforce.users.values()}
    facts: Iterable[tuple[dict[str, User], dict[str, Any]]] = [
        *((zendesk_users, f) for f in desk_truth.daily_facts(warehouse.zendesk)),
        *(
            (salesforce_users, f)
            for f in salesforce_truth.daily_facts(
                warehouse.salesforce, high_water_mark=warehouse.salesforce.now
            )
        ),
    ]
    people: dict[str, Counter[str]] = defaultdict(Counter)
    for users, fact in facts:
        if fact["agent_id"] is not None and warehouse.since <= fact["day"] < warehouse.until:
            people[users[fact["agent_id"]].email.casefold()].update(
                {k: v for k, v in fact.items() if k not in ("agent_id", "day")}
            )
    return people


def test_every_person_row_equals_the_sums_of_both_desks_truth(warehouse: Warehouse) -> None:
    truth = truth_by_address(warehouse)
    people = [asdict(r) for r in warehouse.report("person") if r.agent_id is not None]
    assert sorted(p["agent_email"] for p in people) == sorted(truth)
    for person in people:
        cells = list(person.values())[4:]
        assert cells == person_cells(truth[person["agent_email"]]), person["agent_email"]


# ---- the rule itself, on any totals ----------------------------------------------------------

ADDRESSES = ("ann@example.com", "ANN@Example.com", "bo@example.com", None)


@st.composite
def agent_totals(draw: st.DrawFn) -> tuple[Agent, Totals]:
    source = draw(st.sampled_from((ZENDESK, SALESFORCE, "zendesk_eu")))
    agent_id = str(draw(st.integers(1, 6)))
    handled = draw(st.integers(0, 50))
    eligible = draw(st.integers(0, 50))
    responses = draw(st.integers(0, 50))
    totals = Totals(
        source,
        agent_id,
        handled,
        draw(st.integers(0, handled)),
        draw(st.integers(eligible, 60)),
        eligible,
        draw(st.integers(0, eligible)),
        responses,
        draw(st.integers(0, responses)),
        float(draw(st.integers(0, 100 * responses))),
    )
    email = draw(st.sampled_from(ADDRESSES))
    name = draw(st.sampled_from((None, "Ann", "Bo")))
    return Agent(source, agent_id, name, email, "agent", True, None), totals


@given(st.lists(agent_totals(), max_size=12))
def test_by_person_counts_are_the_sums_of_the_agents_sharing_an_address(
    drawn: list[tuple[Agent, Totals]],
) -> None:
    agents = {(a.source, a.agent_id): a for a, _ in drawn}
    totals = [t for _, t in drawn]
    settings = ScoringSettings(min_sample=MIN_SAMPLE)
    by_agent = {(r.source, r.agent_id): r for r in report_rows(totals, agents, "agent", settings)}
    people = report_rows(totals, agents, "person", settings)
    seen: list[tuple[str, str]] = []
    for person in people:
        joined = [by_agent[key] for key in members(person) if key in by_agent]
        seen.extend(key for key in members(person) if key in by_agent)
        emails = {(agents[key].email or "").casefold() for key in members(person)}
        assert len(emails) == 1 and (len(members(person)) == 1 or "" not in emails)
        assert person.source == "+".join(sorted({source for source, _ in members(person)}))
        assert person.agent_name == agents[members(person)[0]].name
        for count in (*COUNTS, *CSAT_COUNTS):
            assert getattr(person, count) == sum(getattr(r, count) for r in joined)
    assert sorted(seen) == sorted(by_agent)


@given(st.lists(agent_totals(), max_size=12))
def test_a_person_is_named_by_every_agent_known_with_their_address(
    drawn: list[tuple[Agent, Totals]],
) -> None:
    agents = {(a.source, a.agent_id): a for a, _ in drawn}
    settings = ScoringSettings(min_sample=MIN_SAMPLE)
    # The period's totals: only the first agent drawn had activity in it.
    people = report_rows([t for _, t in drawn[:1]], agents, "person", settings)
    for person in (p for p in people if p.agent_id is not None):
        first = agents[members(person)[0]]
        if first.email:
            same = [k for k, a in agents.items() if (a.email or "").casefold() == address(person)]
            assert sorted(members(person)) == sorted(same)
