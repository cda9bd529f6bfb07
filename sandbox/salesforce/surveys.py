"""The desk's legacy ratings as the custom CSAT object `Case_Survey__c`, and its field history.

Owns `survey_records(desk, written_at_send)`: one record per rating (a changed answer rewrites
the score of the same record), and the rows of `Case_Survey__History` (Salesforce's field
history of a custom object: a `created` row, then one row per change of `Score__c`).

Two ways survey tools write the object (research/salesforce-api.md "Settled since"):
- on answer (the default): a record is created when the customer answers, `CreatedDate` and
  `Responded_At__c` the first answer; offers leave no record;
- at send (`written_at_send`): a record is created when the survey is sent, score, comment
  and `Responded_At__c` empty; the answer fills them in (an update: `SystemModstamp` moves,
  `CreatedDate` stays the send time).
Either way, deleting a case clears the `Case__c` lookup of its surveys (the default of a
custom lookup), an edit that moves their `SystemModstamp` to the deletion.
"""

from __future__ import annotations

from datetime import datetime

from sandbox.desk import Desk
from sandbox.desk.model import Rating
from sandbox.salesforce import ids
from sandbox.salesforce.values import Record, score_of, sf_datetime, stamps

HISTORY_PREFIX = "a0T"  # Case_Survey__History's key prefix in this org


def survey_records(desk: Desk, written_at_send: bool) -> tuple[list[Record], list[Record]]:
    """(`Case_Survey__c` records, `Case_Survey__History` rows) of the desk's ratings."""
    records: list[Record] = []
    history: list[Record] = []
    for rating in desk.ratings.values():
        answered = rating.score in ("good", "bad")
        if not answered and (not written_at_send or rating.score != "offered"):
            continue
        ticket = desk.tickets[rating.ticket_id]
        created = (rating.offered_at or rating.created_at) if written_at_send else rating.created_at
        modified = rating.updated_at if answered else created
        case: str | None = ids.case_id(rating.ticket_id)
        if ticket.deleted:
            case, modified = None, max(modified, ticket.updated_at)
        records.append(
            {
                "Id": ids.sf_id(ids.SURVEY, rating.id),
                "Name": f"CS-{rating.id % 10**8:08d}",
                "Case__c": case,
                "Score__c": float(score_of(rating.id, rating.score)) if answered else None,
                "Comment__c": rating.comment if answered else None,
                # The moment the customer first answered (docs/metrics.md "CSAT" counts it then).
                "Responded_At__c": sf_datetime(rating.created_at) if answered else None,
                "Responded_On__c": rating.created_at.date().isoformat() if answered else None,
                "IsDeleted": False,
                **stamps(created, modified),
            }
        )
        history.extend(_history(rating, created, written_at_send))
    return records, history


def _history(rating: Rating, created: datetime, written_at_send: bool) -> list[Record]:
    """The record's field history: `created`, then each change of `Score__c`."""
    changes: list[tuple[datetime, str, float | None, float | None]] = [
        (created, "created", None, None)
    ]
    previous: float | None = None
    for index, (at, score) in enumerate(rating.history):
        now = float(score_of(rating.id, score))
        if index == 0 and not written_at_send:
            previous = now  # created answered: the first score is no change
            continue
        changes.append((at, "Score__c", previous, now))
        previous = now
    return [
        {
            "Id": ids.sf_id(HISTORY_PREFIX, rating.id * 100 + number),
            "ParentId": ids.sf_id(ids.SURVEY, rating.id),
            "Field": field,
            "DataType": "Double" if field == "Score__c" else "Text",
            "OldValue": old,
            "NewValue": new,
            "IsDeleted": False,
            "CreatedDate": sf_datetime(at),
        }
        for number, (at, field, old, new) in enumerate(changes)
    ]
