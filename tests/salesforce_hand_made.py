"""A hand-made Salesforce org: a few records of one state, as a real org writes them.

`hand_made` serves a generated desk through the simulator (sandbox/salesforce) over real
HTTP, keeps the org's users, queues, CaseStatus and SurveyQuestions, and empties its
cases, case history and CSAT records; a test then writes the few records of the state it
is about (`HandMade.case`, `.owner`, `.status`, `.survey`) into the simulator's served
records (`SalesforceSandbox.face().objects`, kept until the desk changes), reads them with
a backfill or a sync, and reads what each case adds to each agent from the credit ledger
(one row per count, docs/metrics.md "Explaining a figure").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sqlalchemy import select

from deskmetrics import pipeline
from sandbox.salesforce import feedback, ids
from sandbox.salesforce.values import Record, sf_datetime, stamps
from tests.desks import set_desk_now
from tests.salesforce_desks import CUSTOM_OBJECT, ENVIRON, ServedOrg, served_org
from warehouse.schema import credit_ledger

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
COUNTS = (
    "handled", "transferred_out", "resolved", "fcr_eligible", "fcr", "csat_responses",
    "csat_satisfied", "csat_score_sum",
)  # fmt: skip


@dataclass
class HandMade:
    """A served org whose cases, history and CSAT records are the test's own."""

    org: ServedOrg
    objects: dict[str, list[Record]]
    agents: list[str]  # User Ids (005…)
    queue: str  # a queue (00G…)
    numbers: Iterator[int]

    # --- records, as a real org writes them ------------------------------------------------

    def case(
        self,
        number: int,
        owner: str,
        status: str,
        created: datetime,
        modified: datetime,
        *,
        closed_at: datetime | None = None,
        deleted: bool = False,
        contact: str | None = None,
        email: str | None = None,
    ) -> Record:
        record = {
            "Id": ids.case_id(number),
            "CaseNumber": f"{number:08d}",
            "OwnerId": owner,
            "Status": status,
            "IsClosed": status in ("Resolved", "Closed"),
            "IsDeleted": deleted,
            "ContactId": contact,
            "SuppliedEmail": email,
            "Origin": "Email",
            "Subject": "audit",
            "ClosedDate": sf_datetime(closed_at) if closed_at else None,
            "CreatedDate": sf_datetime(created),
            "LastModifiedDate": sf_datetime(modified),
            "SystemModstamp": sf_datetime(modified),
        }
        self.objects["Case"].append(record)
        return record

    def _history(
        self, case: Record, at: datetime, field: str, old: Any, new: Any, kind: str
    ) -> Record:
        row = {
            "Id": ids.sf_id(ids.CASE_HISTORY, next(self.numbers)),
            "CaseId": case["Id"],
            "Field": field,
            "DataType": kind,
            "OldValue": old,
            "NewValue": new,
            "IsDeleted": case["IsDeleted"],
            "CreatedDate": sf_datetime(at),
        }
        self.objects["CaseHistory"].append(row)
        return row

    def created(self, case: Record) -> None:
        at = datetime.fromisoformat(case["CreatedDate"])
        self._history(case, at, "created", None, None, "Text")

    def owner(self, case: Record, at: datetime, old: str, new: str, field: str = "Owner") -> None:
        """An owner change: its name row and its Id row (research "Foreign-key changes write
        TWO rows")."""
        self._history(case, at, field, f"Name of {old[-4:]}", f"Name of {new[-4:]}", "Text")
        self._history(case, at, field, old, new, "EntityId")

    def status(self, case: Record, at: datetime, old: str, new: str) -> None:
        self._history(case, at, "Status", old, new, "Text")

    def survey(
        self, case: Record | None, score: float | None, created: datetime, answered: datetime | None
    ) -> Record:
        modified = answered or created
        record = {
            "Id": ids.sf_id(ids.SURVEY, next(self.numbers)),
            "Name": "S",
            "Case__c": case["Id"] if case else None,
            "Score__c": score,
            "Comment__c": None,
            "Responded_At__c": sf_datetime(answered) if answered else None,
            "IsDeleted": False,
            "CreatedDate": sf_datetime(created),
            "LastModifiedDate": sf_datetime(modified),
            "SystemModstamp": sf_datetime(modified),
        }
        self.objects["Case_Survey__c"].append(record)
        return record

    def feedback_answer(self, case: Record, sent: datetime, answered: datetime, score: int) -> None:
        """One Feedback Management survey sent about `case` (a `SurveyInvitation` linked to
        it by `SurveySubject`) and its answer: a `SurveyResponse` with the CSAT question's
        `SurveyQuestionResponse`."""
        n = next(self.numbers)
        invitation = ids.sf_id(feedback.INVITATION, n)
        response = ids.sf_id(feedback.RESPONSE, n)
        self.objects["SurveyInvitation"].append(
            {"Id": invitation, "Name": f"INV-{n}", **stamps(sent, sent)}
        )
        self.objects["SurveySubject"].append(
            {"Id": ids.sf_id(feedback.SUBJECT, n), "ParentId": invitation,
             "SubjectId": case["Id"], "SubjectEntityType": "Case", **stamps(sent, sent)}
        )  # fmt: skip
        self.objects["SurveyResponse"].append(
            {"Id": response, "InvitationId": invitation, "Status": "Completed",
             "CompletionDateTime": sf_datetime(answered), **stamps(answered, answered)}
        )  # fmt: skip
        self.objects["SurveyQuestionResponse"].append(
            {"Id": ids.sf_id(feedback.QUESTION_RESPONSE, n), "ResponseId": response,
             "InvitationId": invitation, "QuestionId": feedback.CSAT_QUESTION_ID,
             "NumberValue": score, "Datatype": "Int", **stamps(answered, answered)}
        )  # fmt: skip

    def purge(self, case: Record, at: datetime) -> None:
        """`case` deleted at `at` and purged from the Recycle Bin: gone from every query with
        its history, listed by Get Deleted only."""
        self.objects["Case"].remove(case)
        history = self.objects["CaseHistory"]
        history[:] = [row for row in history if row["CaseId"] != case["Id"]]
        self.org.sandbox.purged[case["Id"]] = at

    def served(self) -> None:
        """Every object in Id order, as the simulator keeps them."""
        for rows in self.objects.values():
            rows.sort(key=lambda r: r["Id"])

    # --- reading it ----------------------------------------------------------------------

    def backfill(self) -> None:
        self.served()
        self.org.backfill()

    def sync(self, now: datetime) -> None:
        """A scheduled sync with the org's clock (and this machine's) at `now`."""
        self.served()
        self.org.desk.now = now
        with patch.dict(os.environ, ENVIRON):
            pipeline.sync(self.org.engine, self.org.settings, now=now, policy=self.org.policy())

    def ledger(self, case: Record) -> list[dict[str, Any]]:
        """The credit-ledger rows of one case, after scoring: what it adds to whom."""
        self.org.report()  # scores any dirty day
        with self.org.engine.connect() as conn:
            rows = conn.execute(
                select(credit_ledger).where(credit_ledger.c.interaction_id == case["Id"])
            ).mappings()
            return [dict(r) for r in rows]

    def counts(self, case: Record, agent: str = "") -> dict[str, float]:
        """What `case` adds to `agent` ("": the unassigned row), every count summed."""
        rows = [r for r in self.ledger(case) if r["agent_id"] == agent]
        return {name: sum(r[name] for r in rows) for name in COUNTS}


# What a test writes itself; the rest of the org (users, queues, statuses, questions) stays.
HAND_MADE = (
    "Case", "CaseHistory", "Case_Survey__c", "SurveyInvitation", "SurveyResponse",
    "SurveyQuestionResponse", "SurveySubject",
)  # fmt: skip


@contextmanager
def hand_made(
    tmp_path: Path, csat: dict[str, str] = CUSTOM_OBJECT, **source: Any
) -> Iterator[HandMade]:
    set_desk_now(NOW)
    try:
        with served_org(tmp_path, **{**csat, **source}) as org:
            objects = org.sandbox.face().objects  # cached until the desk changes: kept
            agents = [u["Id"] for u in objects["User"]]
            queue = objects["Group"][0]["Id"]
            for name in HAND_MADE:
                objects.get(name, []).clear()
            yield HandMade(org, objects, agents, queue, iter(range(900_000, 999_999)))
    finally:
        set_desk_now(None)


def counted(**given: float) -> dict[str, float]:
    """Every count a case can add to an agent: those `given`, the rest 0."""
    return {name: given.get(name, 0) for name in COUNTS}
