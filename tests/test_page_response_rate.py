"""The manager's page's CSAT response rate, as a real headless Chromium renders it, on a
desk that switched from legacy ratings to survey responses within the period: surveys
answered of those sent, equal to the sandbox desk's ground truth."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bench.browser import chromium, dump_dom
from sandbox.desk.survey_truth import response_rate
from tests.desks import TINY, served_desk
from tests.test_page import elements

pytestmark = pytest.mark.skipif(
    chromium() is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run does)"
)

SHOWN = re.compile(
    r"^CSAT response rate, zendesk: ([\d.]+)% \((\d+) answered of (\d+) surveys sent\)$"
)


def test_the_response_rate_is_the_surveys_answered_of_those_sent(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY, csat_switch_days=8) as served:
        served.backfill()
        _, until = served.period()
        since = until - timedelta(days=16)  # legacy offers before the switch, surveys after
        page = tmp_path / "page.html"
        made = served.cli("report", "--since", str(since), "--until", str(until),
                          "--format", "html", "--out", str(page))  # fmt: skip
        assert made.returncode == 0, made.stderr
        answered, sent = response_rate(served.desk, since, until)
        legacy_offers = [r for r in served.desk.ratings.values() if r.score == "offered"]
        unanswered_surveys = [r for r in served.desk.survey_responses.values() if not r.answered]
    assert legacy_offers and unanswered_surveys and 0 < answered < sent  # a rate to get wrong
    (shown,) = [
        e.text
        for e in elements(dump_dom(page))
        if e.tag == "p" and e.attrs.get("data-response-rate") == "zendesk"
    ]
    found = SHOWN.match(shown)
    assert found, shown
    assert (int(found[2]), int(found[3])) == (answered, sent)
    assert found[1] == f"{100 * answered / sent:.1f}"
