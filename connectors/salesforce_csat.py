"""Where a Salesforce org keeps CSAT answers, checked before the first query, and read.

Two places, by settings (docs/metrics.md "CSAT"): a custom object with a case lookup, score,
comment and date field (`csat_object`), or Feedback Management (`csat_question`: the
`DeveloperName` of the `SurveyQuestion` whose `SurveyQuestionResponse.NumberValue` is the
score, linked to its case through `SurveySubject`, whose `ParentId` names the invitation or
the response). Names from settings are identifiers (checked when settings load, and again by
`SurveyFields`), then checked against `describe` before any data query, so a misspelt field
is one clear error naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.salesforce_config import SalesforceConfig
from connectors.salesforce_records import (
    SurveyFields,
    identifier,
    rating_from_feedback_response,
    rating_from_survey_record,
    salesforce_id,
)
from interactions import ConfigError, Rating

# Ids named in one `IN (...)` list: well under SOQL's 100,000-character statement limit.
IDS_PER_QUERY = 500

Query = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class CsatQuery:
    """What the ratings stream reads: an object, its fields, the stamp it is windowed on and
    any fixed condition."""

    obj: str
    fields: tuple[str, ...]
    stamp: str
    condition: str = ""
    question_id: str = ""  # Feedback Management: the CSAT question's Id


def survey_fields(config: SalesforceConfig) -> SurveyFields:
    return SurveyFields(
        object_name=config.csat_object,
        case_field=config.csat_case_field,
        score_field=config.csat_score_field,
        date_field=config.csat_date_field,
        comment_field=config.csat_comment_field or None,
    )


def checked_custom_object(config: SalesforceConfig, described: Mapping[str, Any]) -> CsatQuery:
    """The custom object's query, once `describe` shows every configured field."""
    fields = survey_fields(config)
    known = {
        str(f.get("name", "")).lower(): str(f.get("name"))
        for f in described.get("fields") or []
        if isinstance(f, dict)
    }
    wanted = {
        "csat_case_field": fields.case_field,
        "csat_score_field": fields.score_field,
        "csat_date_field": fields.date_field,
        "csat_comment_field": fields.comment_field,
    }
    for key, name in wanted.items():
        if name and name.lower() not in known:
            raise ConfigError(
                f"source {config.source!r}: {key} = {name!r} is not a field of "
                f"{fields.object_name} (its fields include "
                f"{', '.join(sorted(known.values())[:12])}…). Fix sources.{config.source}."
                f"{key} to the field's API name in Setup > Object Manager."
            )
    stamps = [s for s in ("LastModifiedDate", "SystemModstamp") if s.lower() in known]
    selected = dict.fromkeys(
        ["Id", fields.case_field, fields.score_field, fields.date_field, *stamps]
        + ([fields.comment_field] if fields.comment_field else [])
    )
    stamp = "SystemModstamp" if "SystemModstamp" in stamps else fields.date_field
    return CsatQuery(fields.object_name, tuple(selected), stamp)


def feedback_question(config: SalesforceConfig, query: Query) -> CsatQuery:
    """The Feedback Management answers' query, once the configured question is found."""
    name = identifier(config.csat_question, "csat_question")
    found = query(f"SELECT Id, DeveloperName FROM SurveyQuestion WHERE DeveloperName = '{name}'")
    ids = [i for row in found if (i := salesforce_id(row.get("Id"))) is not None]
    if not ids:
        raise ConfigError(
            f"source {config.source!r}: csat_question = {name!r} names no SurveyQuestion of "
            "this org (looked up by DeveloperName). Set it to the API name of the CSAT "
            "question (Setup > Feedback Management), or clear it."
        )
    # Feedback Management answers cannot be edited (research "Settled since"), so for them
    # SystemModstamp is CreatedDate; read by it all the same, so an org (or a tool writing
    # answers) that does change one is read again.
    return CsatQuery(
        "SurveyQuestionResponse",
        (
            "Id", "ResponseId", "InvitationId", "QuestionId", "NumberValue", "CreatedDate",
            "SystemModstamp",
        ),
        "SystemModstamp",
        f"QuestionId = '{ids[0]}'",
        ids[0],
    )  # fmt: skip


def ratings_from_rows(
    config: SalesforceConfig, csat: CsatQuery, rows: list[dict[str, Any]], links: SubjectLinks
) -> tuple[Rating, ...]:
    """The ratings of one page of answer rows; Feedback answers are joined to their cases
    through `links` (one `SurveySubject` query per page)."""
    if not csat.question_id:
        fields = survey_fields(config)
        return tuple(rating_from_survey_record(config.source, row, fields) for row in rows)
    parents = {
        parent
        for row in rows
        for key in ("InvitationId", "ResponseId")
        if (parent := salesforce_id(row.get(key))) is not None
    }
    case_of = links.cases_of(parents)
    found = (
        rating_from_feedback_response(config.source, row, csat.question_id, case_of) for row in rows
    )
    return tuple(rating for rating in found if rating is not None)


class SubjectLinks:
    """Invitation or response Id → the case `SurveySubject` links it to.

    It remembers what it was asked (up to `REMEMBERED` ids, then it starts afresh), so a
    page parsed again row by row (to set aside a row that cannot be read) asks nothing
    twice.
    """

    REMEMBERED = 10_000

    def __init__(self, query: Query) -> None:
        self._query = query
        self._known: dict[str, str | None] = {}

    def cases_of(self, parents: Iterable[str]) -> dict[str, str]:
        asked = set(parents)
        if len(self._known) + len(asked) > self.REMEMBERED:
            self._known.clear()
        wanted = sorted(asked - self._known.keys())
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start : start + IDS_PER_QUERY]
            self._known.update(dict.fromkeys(chunk))
            # Ids were checked to be Salesforce ids: letters and digits only, safe in quotes.
            listed = ", ".join(f"'{i}'" for i in chunk)
            for row in self._query(
                f"SELECT ParentId, SubjectId FROM SurveySubject WHERE ParentId IN ({listed})"
            ):
                parent = salesforce_id(row.get("ParentId"))
                subject = salesforce_id(row.get("SubjectId"))
                if parent is not None and subject is not None and subject.startswith("500"):
                    self._known[parent] = subject
        return {p: case for p in asked if (case := self._known.get(p)) is not None}
