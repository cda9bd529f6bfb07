"""End to end against the sandbox, a desk that switched from legacy ratings to Zendesk's new
CSAT (survey responses) part-way: the report equals the generator's ground truth after a
backfill and after a sync in which surveys were answered, a bad rating became good and new
surveys were sent, on a 1-3 emoji scale and a 1-5 numeric one; a sync costs survey requests
in proportion to the tickets whose satisfaction changed; `csat` decides what is read."""

from __future__ import annotations

import math
import os
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import Engine

from deskmetrics import pipeline
from deskmetrics.settings import load_settings
from interactions import SourceUnavailableError
from sandbox.desk import advance_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.surveys import category
from tests.desks import TINY, Served, served_desk, set_desk_now

RESPONSES = "/api/v2/guide/survey_responses"
SCALES = [pytest.param(3, True, id="1-3 emoji"), pytest.param(5, False, id="1-5 numeric")]


def _switched(
    tmp_path: Path, scale: int = 5, emoji: bool = False, **spec: Any
) -> AbstractContextManager[Served]:
    return served_desk(
        tmp_path, csat_switch_days=12, survey_scale=scale, survey_emoji=emoji, **spec
    )


def _report_equals_truth(served: Served, extra_days: int = 0) -> None:
    since, until = served.period()
    until += timedelta(days=extra_days)
    report = [asdict(row) for row in pipeline.report(served.engine, served.settings, since, until)]
    assert report == desk_truth.report_rows(served.desk, since, until)


def _sync(served: Served, **policy: Any) -> None:
    """`pipeline.sync` with the token set as a user sets it and a retry policy that never
    sleeps."""
    with patch.dict(os.environ, served.environ):
        pipeline.sync(served.engine, served.settings, policy=served.policy(**policy))


def _survey_requests(served: Served) -> int:
    return served.sandbox.requests_by_path.get(RESPONSES, 0)


@pytest.mark.parametrize(("scale", "emoji"), SCALES)
def test_a_backfill_of_a_switched_desk_equals_ground_truth(
    tmp_path: Path, scale: int, emoji: bool
) -> None:
    with _switched(tmp_path, scale, emoji) as served:
        served.backfill()
        assert served.desk.survey_responses and served.desk.ratings
        _report_equals_truth(served)


@pytest.mark.parametrize(("scale", "emoji"), SCALES)
def test_a_sync_after_surveys_are_answered_changed_and_sent_equals_ground_truth(
    tmp_path: Path, scale: int, emoji: bool
) -> None:
    with _switched(tmp_path, scale, emoji) as served:
        served.backfill()
        before = {r.id: r.rating for r in served.desk.survey_responses.values()}
        changed = advance_desk(served.desk, minutes=180, seed=11)
        after = {r.id: r.rating for r in served.desk.survey_responses.values()}
        _sync(served)
        _report_equals_truth(served, extra_days=1)
    assert any(before[i] is None and after[i] is not None for i in before), "none answered"
    assert any(
        before[i] is not None and category(before[i] or 0, scale) == "bad" and after[i] == scale
        for i in before
    ), "no bad rating made good"
    assert set(after) - set(before) and changed["surveys_offered"], "no survey sent"


def test_a_sync_costs_survey_requests_by_the_tickets_whose_satisfaction_changed(
    tmp_path: Path,
) -> None:
    with _switched(tmp_path) as served:
        served.backfill()
        changed = advance_desk(served.desk, minutes=180, seed=11)
        before = _survey_requests(served)
        _sync(served)
        made = _survey_requests(served) - before
        sent = served.desk.now - timedelta(days=29)
        answerable = sum(r.offered_at >= sent for r in served.desk.survey_responses.values())
    # One page of surveys sent since the last pass, then 50 changed tickets a request: the
    # tickets the export shows with an answer are among those the advance touched.
    assert made <= 1 + math.ceil(len(changed["touched"]) / 50)
    assert made < math.ceil(answerable / 50), "as dear as re-reading every answerable survey"


def test_a_sync_cut_short_in_the_survey_stream_goes_on_with_its_ticket_list(
    tmp_path: Path,
) -> None:
    with _switched(tmp_path) as served:
        served.backfill()
        advance_desk(served.desk, minutes=180, seed=11)
        served.sandbox.inject("503", times=5, path_contains=RESPONSES)
        with pytest.raises(SourceUnavailableError):
            _sync(served, max_attempts=1)
        served.sandbox.faults.clear()
        before = _survey_requests(served)
        _sync(served)  # tickets finished in this pass already: not read again
        made = _survey_requests(served) - before
        _report_equals_truth(served, extra_days=1)
    assert made <= 2, f"{made} survey requests: the answerable window was read again"


def test_survey_responses_paged_without_links_equal_ground_truth(
    tmp_path: Path, any_engine: Engine
) -> None:
    # The sandbox serves survey response pages as the recorded real page is: `meta` with
    # `has_more` and `after_cursor`, and no `links` object.
    with _switched(tmp_path) as served:
        served.engine = any_engine
        served.backfill()
        advance_desk(served.desk, minutes=180, seed=11)
        _sync(served)
        pages = _survey_requests(served)
        _report_equals_truth(served, extra_days=1)
    assert len(served.desk.survey_responses) > 50 and pages > 2


def test_a_survey_answered_then_offered_again_counts_after_a_sync(
    tmp_path: Path, any_engine: Engine
) -> None:
    # The advance answers surveys, reopens and solves their tickets again and sends new
    # surveys seconds later: the exported tickets show `offered`, their events offered →
    # good|bad → offered. A desk of a fixed time: one made at the minute the test runs may
    # bring no such survey.
    set_desk_now(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    with _switched(tmp_path) as served:
        served.engine = any_engine
        served.backfill()
        changed = advance_desk(served.desk, minutes=180, seed=11)
        _sync(served)
        _report_equals_truth(served, extra_days=1)
    assert changed["surveys_answered_then_offered"]


def _with_csat(served: Served, mode: str) -> None:
    """The desk's settings file with `csat = mode` in [sources.zendesk] (its last section)."""
    with served.settings_path.open("a") as settings:
        settings.write(f'csat = "{mode}"\n')
    served.settings = load_settings(served.settings_path)


def test_csat_legacy_reads_no_survey_and_status_says_so(tmp_path: Path) -> None:
    with _switched(tmp_path, **TINY) as served:
        _with_csat(served, "legacy")
        assert served.cli("sync").returncode == 0
        status = served.cli("status").stdout
        guide = [p for p in served.sandbox.requests_by_path if p.startswith("/api/v2/guide/")]
    assert guide == []
    assert 'zendesk CSAT read: legacy satisfaction ratings only (csat = "legacy")' in status


def test_csat_surveys_reads_no_legacy_ratings(tmp_path: Path) -> None:
    with _switched(tmp_path, **TINY) as served:
        _with_csat(served, "surveys")
        assert served.cli("sync").returncode == 0
        status = served.cli("status").stdout
        legacy = served.sandbox.requests_by_path.get("/api/v2/satisfaction_ratings", 0)
        surveys = _survey_requests(served)
    assert legacy == 0 and surveys > 0
    assert "zendesk CSAT read: new-CSAT survey responses only" in status


def test_status_says_both_are_read_once_a_survey_is_found(tmp_path: Path) -> None:
    with _switched(tmp_path, **TINY) as served:
        assert served.cli("sync").returncode == 0
        status = served.cli("status").stdout
    assert (
        "zendesk CSAT read: legacy satisfaction ratings and new-CSAT survey responses "
        "(a customer-satisfaction survey is enabled or was seen)"
    ) in status


def test_status_says_legacy_only_on_a_desk_without_surveys(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        assert served.cli("sync").returncode == 0
        status = served.cli("status").stdout
    assert (
        "zendesk CSAT read: legacy satisfaction ratings only "
        "(no enabled customer-satisfaction survey found)"
    ) in status


def test_the_run_summary_names_the_survey_requests_apart(tmp_path: Path) -> None:
    with _switched(tmp_path, **TINY) as served:
        result = served.cli("sync")
        runs = served.cli("status").stdout
    assert result.returncode == 0
    assert "survey requests, which count against the Help Center allowance" in result.stderr
    assert "Help Center allowance" in runs  # kept with the run in `runs`


def test_a_switched_desk_into_either_database_equals_ground_truth(
    tmp_path: Path, any_engine: Engine
) -> None:
    with _switched(tmp_path, 3) as served:
        served.engine = any_engine
        served.backfill()
        advance_desk(served.desk, minutes=180, seed=5)
        _sync(served)
        _report_equals_truth(served, extra_days=1)
