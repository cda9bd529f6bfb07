"""A real org's ordinary states never stop a Salesforce source or move a figure (issue 21),
end to end against the simulator on SQLite and PostgreSQL: a survey whose case was deleted,
survey records written when the survey is sent, answers dated by the score's field history,
a status `CaseStatus` does not list; and any split of a desk's history into a backfill and
syncs gives the same daily facts as one backfill of the whole."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from interactions import MalformedRecordError
from sandbox.desk import DeskSpec, advance_desk, generate_desk
from tests.desks import set_desk_now, table_dump
from tests.salesforce_desks import CUSTOM_OBJECT, DESK, FEEDBACK, ServedOrg, served_org
from warehouse.schema import quarantine

# A desk whose next hours (advance seed 2) delete a rated case among other changes.
CHANGING_DESK_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANSWER_DATED = CUSTOM_OBJECT  # csat_date_field = Responded_At__c, the answer's own date
CREATED_DATED = {"csat_object": "Case_Survey__c"}  # csat_date_field = CreatedDate (default)


@contextmanager
def _org(
    tmp_path: Path, engine: Engine, sandbox: dict[str, Any] | None = None, **source: Any
) -> Iterator[ServedOrg]:
    with served_org(tmp_path, sandbox, **source) as org:
        yield dataclasses.replace(org, engine=engine)


def test_a_survey_whose_case_was_deleted_counts_nowhere_and_stops_nothing(
    tmp_path: Path, any_engine: Engine
) -> None:
    set_desk_now(CHANGING_DESK_NOW)
    with _org(tmp_path, any_engine, **ANSWER_DATED) as org:
        org.backfill()
        changed = advance_desk(org.desk, minutes=240, seed=2)
        surveys = org.sandbox.face().objects["Case_Survey__c"]
        orphans = [s for s in surveys if s["Case__c"] is None]
        results = org.sync()
        report, truth = org.report(), org.truth()
    assert changed["deleted"] and orphans, "a rated case was deleted, its lookup cleared"
    assert report == truth
    ratings = next(s for s in results[0].streams if s.stream == "ratings")
    assert ratings.left_out >= len(orphans) > 0
    assert "left out" in results[0].summary()


def test_feedback_answers_to_every_version_of_the_survey_count(
    tmp_path: Path, any_engine: Engine
) -> None:
    # An edited survey has a CSAT question per version, all named alike (sandbox: the
    # newer half of the answers are to version 2's question).
    with _org(tmp_path, any_engine, {"survey_versions": 2}, **FEEDBACK) as org:
        questions = org.sandbox.face().objects["SurveyQuestion"]
        answers = org.sandbox.face().objects["SurveyQuestionResponse"]
        org.backfill()
        report, truth = org.report(), org.truth()
    csat = {q["Id"] for q in questions if q["DeveloperName"] == "csat"}
    assert len(csat) == 2 and csat <= {a["QuestionId"] for a in answers}
    assert report == truth


@pytest.mark.parametrize("dated", ["answer-date field", "score history"])
def test_survey_records_written_when_the_survey_is_sent_count_from_their_first_answer(
    tmp_path: Path, any_engine: Engine, dated: str
) -> None:
    set_desk_now(CHANGING_DESK_NOW)
    sandbox = {"surveys_at_send": True, "score_history": dated == "score history"}
    source = ANSWER_DATED if dated == "answer-date field" else CREATED_DATED
    with _org(tmp_path, any_engine, sandbox, **source) as org:
        offers = [s for s in org.sandbox.face().objects["Case_Survey__c"] if s["Score__c"] is None]
        org.backfill()
        assert org.report() == org.truth()
        advance_desk(org.desk, minutes=240, seed=2)  # offers answered, answers changed
        org.sync()
        assert org.report() == org.truth()
    assert offers, "the desk has surveys sent and not answered"


def test_check_warns_when_records_are_written_unanswered_and_nothing_dates_the_answer(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, {"surveys_at_send": True}, **CREATED_DATED) as org:
        result = org.cli("check")
    assert result.returncode == 0, result.stderr
    assert "WARNING: Case_Survey__c has records with an empty Score__c" in result.stdout
    assert "csat_date_field" in result.stdout and "Set History Tracking" in result.stdout


def test_check_says_answers_are_dated_by_the_score_history_when_the_org_tracks_it(
    tmp_path: Path,
) -> None:
    sandbox = {"surveys_at_send": True, "score_history": True}
    with served_org(tmp_path, sandbox, **CREATED_DATED) as org:
        result = org.cli("check")
    assert "answers dated by the first change of Score__c in Case_Survey__History" in (
        result.stdout
    )


def _with_unknown_status(org: ServedOrg) -> str:
    """One case's history names a status the org's CaseStatus does not list."""
    rows = org.sandbox.face().objects["CaseHistory"]
    row = next(r for r in rows if r["Field"] == "Status")
    row["NewValue"] = "Escalated to Mars"
    return str(row["Id"])


def test_a_status_case_status_does_not_list_stops_the_history_naming_it(tmp_path: Path) -> None:
    with served_org(tmp_path, **ANSWER_DATED) as org:
        _with_unknown_status(org)
        with pytest.raises(MalformedRecordError, match="'Escalated to Mars', which CaseStatus"):
            org.backfill()


def test_a_status_added_to_the_org_since_its_statuses_were_read_is_read_again_not_refused(
    tmp_path: Path,
) -> None:
    set_desk_now(CHANGING_DESK_NOW)
    with served_org(tmp_path, **ANSWER_DATED) as org:
        org.backfill()  # the org's statuses are learned and kept
        since = advance_desk(org.desk, minutes=240, seed=2)["since"]
        face = org.sandbox.face()
        face.objects["CaseStatus"].append(
            {**face.objects["CaseStatus"][1], "Id": "01J5g0000000099AAA", "ApiName": "Escalated",
             "MasterLabel": "Escalated", "IsClosed": False}
        )  # fmt: skip
        row = next(
            r
            for r in face.objects["CaseHistory"]
            if r["Field"] == "Status" and r["CreatedDate"] > since and r["NewValue"] == "Working"
        )
        row["NewValue"] = "Escalated"  # an open status as "Working" is: no figure moves
        org.sync()
        assert org.report() == org.truth()


def test_with_quarantine_a_status_case_status_does_not_list_is_set_aside(tmp_path: Path) -> None:
    with served_org(tmp_path, bad_records="quarantine", **ANSWER_DATED) as org:
        spoilt = _with_unknown_status(org)
        org.backfill()
        with org.engine.connect() as conn:
            set_aside = conn.execute(select(quarantine.c.record_id, quarantine.c.error)).all()
    assert [record_id for record_id, _ in set_aside] == [spoilt]
    assert "Escalated to Mars" in set_aside[0][1]


# --- any split of a desk's history: the same daily facts ------------------------------------

SMALL = {**DESK, "tickets": 120, "customers": 50}


def _facts(org: ServedOrg) -> list[tuple[str, ...]]:
    return table_dump(org.engine)["agent_day_facts"]


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    syncs=st.lists(st.booleans(), min_size=2, max_size=3),
    at_send=st.booleans(),
    seed=st.integers(min_value=1, max_value=50),
)
def test_any_split_of_a_desks_history_into_a_backfill_and_syncs_gives_the_same_facts(
    tmp_path_factory: pytest.TempPathFactory, syncs: list[bool], at_send: bool, seed: int
) -> None:
    tmp = tmp_path_factory.mktemp("split")
    desk = generate_desk(DeskSpec(now=CHANGING_DESK_NOW, **SMALL))
    sandbox = {"surveys_at_send": at_send, "score_history": True}
    with served_org(tmp / "synced", sandbox, desk, **CREATED_DATED) as org:
        org.backfill()
        for step, sync_now in enumerate(syncs):
            advance_desk(org.desk, minutes=180, seed=seed + step)
            if sync_now:
                org.sync()
        org.sync()
        synced, final = _facts(org), org.desk
    with served_org(tmp / "whole", sandbox, final, **CREATED_DATED) as org:
        org.backfill()
        whole = _facts(org)
    assert synced == whole
