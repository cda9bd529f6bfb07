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

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from connectors.salesforce_config import SalesforceConfig
from connectors.salesforce_records import (
    SurveyFields,
    identifier,
    offer_from_survey_record,
    parse_time,
    rating_from_feedback_response,
    rating_from_survey_record,
    salesforce_id,
    survey_record_counts,
)
from interactions import ConfigError, Rating

# Ids named in one `IN (...)` list: well under SOQL's 100,000-character statement limit.
IDS_PER_QUERY = 500

Query = Callable[[str], list[dict[str, Any]]]
V = TypeVar("V")


@dataclass(frozen=True)
class CsatQuery:
    """What the ratings stream reads: an object, its fields, the stamp it is windowed on and
    any fixed condition."""

    obj: str
    fields: tuple[str, ...]
    stamp: str
    condition: str = ""
    # Feedback Management: the CSAT question's Ids, one per version of its survey.
    question_ids: tuple[str, ...] = ()
    history: str = ""  # the score's field history, when it dates the answers
    # Read with queryAll: a record deleted since it was read is seen, and withdrawn.
    include_deleted: bool = False
    note: str = ""  # how answers are dated, or a warning that they cannot be (`check`)


def survey_fields(config: SalesforceConfig) -> SurveyFields:
    return SurveyFields(
        object_name=config.csat_object,
        case_field=config.csat_case_field,
        score_field=config.csat_score_field,
        date_field=config.csat_date_field,
        comment_field=config.csat_comment_field or None,
    )


def described_fields(described: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """An object description's fields by their name in lower case (SOQL reads names in any
    case; rows spell them one way, so callers keep each field's own `name`)."""
    return {
        str(f.get("name", "")).lower(): f
        for f in described.get("fields") or []
        if isinstance(f, dict)
    }


def checked_custom_object(config: SalesforceConfig, described: Mapping[str, Any]) -> CsatQuery:
    """The custom object's query, once `describe` shows every configured field."""
    fields = survey_fields(config)
    by_name = described_fields(described)
    known = {key: str(f.get("name")) for key, f in by_name.items()}
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
                f"{fields.object_name} that the API user can see (its fields include "
                f"{', '.join(sorted(known.values())[:12])}…). Fix sources.{config.source}."
                f"{key} to the field's API name in Setup > Object Manager, or, if the name "
                "is right, give the user read access to the field: field-level security "
                "hides a field the user may not read."
            )
        if name and known[name.lower()] != name:
            # Salesforce names a row's fields as it spells them, and rows are read by the
            # configured name: another letter case would read every answer as empty.
            raise ConfigError(
                f"source {config.source!r}: {key} = {name!r} is spelled "
                f"{known[name.lower()]!r} in {fields.object_name}. Set sources."
                f"{config.source}.{key} = {known[name.lower()]!r}, as Setup > Object Manager "
                "shows its API name."
            )
    _check_types(config, fields, by_name)
    stamps = [s for s in ("LastModifiedDate", "SystemModstamp") if s.lower() in known]
    # A survey record deleted in the org (a test answer, spam) counts nowhere once it is:
    # queryAll brings it back with IsDeleted (every object has it; a stand-in may not).
    deleted = ["IsDeleted"] if "isdeleted" in known else []
    selected = dict.fromkeys(
        ["Id", fields.case_field, fields.score_field, fields.date_field, *stamps, *deleted]
        + ([fields.comment_field] if fields.comment_field else [])
    )
    stamp = "SystemModstamp" if "SystemModstamp" in stamps else fields.date_field
    return CsatQuery(fields.object_name, tuple(selected), stamp, include_deleted=bool(deleted))


# Field types (describe's `type`) each setting can be read from. A score is read as a
# number from a number field, or from text or a picklist holding one; an answer's time
# from a date or a date-time.
SCORE_TYPES = frozenset({"double", "int", "long", "percent", "currency", "string", "picklist"})
DATE_TYPES = frozenset({"date", "datetime"})


def _check_types(
    config: SalesforceConfig, fields: SurveyFields, by_name: Mapping[str, Mapping[str, Any]]
) -> None:
    """A field of the wrong kind reads as no answer at all, or fails every record: the
    case link must be a lookup to Case, the score a number, the date a date (where the
    description gives types; a stand-in may not). `by_name`: `described_fields`."""

    def kind_of(name: str) -> tuple[str | None, list[str]]:
        found = by_name.get(name.lower()) or {}
        kind = found.get("type")
        return (kind if isinstance(kind, str) else None), [
            str(r) for r in found.get("referenceTo") or []
        ]

    where = f"source {config.source!r}"
    case_kind, targets = kind_of(fields.case_field)
    if case_kind is not None and (case_kind != "reference" or "Case" not in targets):
        pointing = f" to {', '.join(targets)}" if targets else ""
        raise ConfigError(
            f"{where}: csat_case_field = {fields.case_field!r} is a {case_kind} field"
            f"{pointing} of {fields.object_name}, not a lookup to Case: no answer would "
            f"belong to a case. Set sources.{config.source}.csat_case_field to the field that "
            "links a survey record to its case."
        )
    valued = (
        ("csat_score_field", fields.score_field, SCORE_TYPES, "a number",
         "the field that holds the score"),
        ("csat_date_field", fields.date_field, DATE_TYPES, "a date or date-time",
         "the field that holds when the customer answered (or CreatedDate)"),
    )  # fmt: skip
    for key, name, kinds, wanted, holding in valued:
        kind, _ = kind_of(name)
        if kind is not None and kind not in kinds:
            raise ConfigError(
                f"{where}: {key} = {name!r} is a {kind} field of {fields.object_name}, not "
                f"{wanted}. Set sources.{config.source}.{key} to {holding}."
            )


def feedback_question(config: SalesforceConfig, query: Query) -> CsatQuery:
    """The Feedback Management answers' query, once the configured question is found: its
    every Id, for each version of a survey has its own question (same `DeveloperName`)."""
    name = identifier(config.csat_question, "csat_question")
    found = query(f"SELECT Id, DeveloperName FROM SurveyQuestion WHERE DeveloperName = '{name}'")
    ids = sorted({i for row in found if (i := salesforce_id(row.get("Id"))) is not None})
    if not ids:
        raise ConfigError(
            f"source {config.source!r}: csat_question = {name!r} names no SurveyQuestion of "
            "this org (looked up by DeveloperName). Set it to the API name of the CSAT "
            "question (Setup > Feedback Management), or clear it."
        )
    listed = ", ".join(f"'{i}'" for i in ids)
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
        f"QuestionId IN ({listed})",
        tuple(ids),
    )  # fmt: skip


def ratings_from_rows(
    config: SalesforceConfig, csat: CsatQuery, rows: list[dict[str, Any]], joins: CsatJoins
) -> tuple[Rating, ...]:
    """The ratings of one page of answer rows. Custom-object records that are offers or link
    to no case count nowhere, and are stored as offers (`offer_from_survey_record`); those
    written before they were answered are dated by their score's field history
    (`csat.history`, one query per page). Feedback answers are joined
    to their cases through `SurveySubject` (one query per page)."""
    if not csat.question_ids:
        fields = survey_fields(config)
        counted: list[dict[str, Any]] = []
        uncounted: list[dict[str, Any]] = []  # may have been read as an answer before
        for row in rows:
            (counted if survey_record_counts(row, fields) else uncounted).append(row)
        first_answers = (
            joins.first_answers.of(
                i for row in counted if (i := salesforce_id(row.get("Id"))) is not None
            )
            if csat.history
            else {}
        )
        answers = tuple(
            rating_from_survey_record(
                config.source,
                row,
                fields,
                first_answers.get(salesforce_id(row.get("Id")) or ""),
                config.day_zone,
            )
            for row in counted
        )
        offers = (offer_from_survey_record(config.source, row, fields) for row in uncounted)
        return answers + tuple(offer for offer in offers if offer is not None)
    parents = {
        parent
        for row in rows
        for key in ("InvitationId", "ResponseId")
        if (parent := salesforce_id(row.get(key))) is not None
    }
    case_of = joins.cases.of(parents)
    questions = frozenset(csat.question_ids)
    found = (rating_from_feedback_response(config.source, row, questions, case_of) for row in rows)
    return tuple(rating for rating in found if rating is not None)


class RememberedLookup(Generic[V]):
    """Values of Ids found by `SELECT … WHERE … IN (ids)` queries, `IDS_PER_QUERY` at a time.

    It remembers what it was asked (up to `REMEMBERED` ids, then it starts afresh), so a
    page parsed again row by row (to set aside a row that cannot be read) asks nothing
    twice. `soql` makes a query of a quoted, comma-separated Id list; `found` reads its rows
    into (Id, value) pairs."""

    REMEMBERED = 10_000

    def __init__(
        self,
        query: Query,
        soql: Callable[[str], str],
        found: Callable[[list[dict[str, Any]]], Iterable[tuple[str, V]]],
    ) -> None:
        self._query, self._soql, self._found = query, soql, found
        self._known: dict[str, V | None] = {}

    def of(self, ids: Iterable[str]) -> dict[str, V]:
        asked = set(ids)
        if len(self._known) + len(asked) > self.REMEMBERED:
            self._known.clear()
        wanted = sorted(asked - self._known.keys())
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start : start + IDS_PER_QUERY]
            self._known.update(dict.fromkeys(chunk))
            # Ids were checked to be Salesforce ids: letters and digits only, safe in quotes.
            listed = ", ".join(f"'{i}'" for i in chunk)
            self._known.update(self._found(self._query(self._soql(listed))))
        return {i: value for i in asked if (value := self._known.get(i)) is not None}


class CsatJoins:
    """The per-page look-ups of CSAT rows: an invitation's or response's case
    (`SurveySubject`), a custom-object record's first answer (its score's field history)."""

    def __init__(self, config: SalesforceConfig, query: Query) -> None:
        self.cases: RememberedLookup[str] = RememberedLookup(
            query,
            lambda listed: (
                f"SELECT ParentId, SubjectId FROM SurveySubject WHERE ParentId IN ({listed})"
            ),
            _subject_cases,
        )
        history = history_object(config.csat_object) if config.csat_object else ""
        score = config.csat_score_field
        self.first_answers: RememberedLookup[datetime] = RememberedLookup(
            query,
            lambda listed: (
                f"SELECT ParentId, OldValue, NewValue, CreatedDate FROM {history} WHERE "
                f"Field = '{score}' AND ParentId IN ({listed}) ORDER BY CreatedDate ASC"
            ),
            _first_answers,
        )


def _subject_cases(rows: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for row in rows:
        parent = salesforce_id(row.get("ParentId"))
        subject = salesforce_id(row.get("SubjectId"))
        if parent is not None and subject is not None and subject.startswith("500"):
            yield parent, subject


def _first_answers(rows: list[dict[str, Any]]) -> Iterable[tuple[str, datetime]]:
    """Each record's first answer: its earliest change of the score from empty to a value
    (rows come oldest first)."""
    first: dict[str, datetime] = {}
    for row in rows:
        parent = salesforce_id(row.get("ParentId"))
        if parent is None or parent in first:
            continue
        if row.get("OldValue") in (None, "") and row.get("NewValue") not in (None, ""):
            try:
                moment = parse_time(row.get("CreatedDate"))
            except ValueError:
                continue  # a history row that cannot be read dates nothing
            if moment is not None:
                first[parent] = moment
    return first.items()


def history_object(obj: str) -> str:
    """The field-history object of `obj`: `Case_Survey__History` of `Case_Survey__c`."""
    return f"{obj.removesuffix('__c')}__History" if obj.endswith("__c") else f"{obj}History"


def answer_dating(
    config: SalesforceConfig, csat: CsatQuery, history_fields: set[str], has_offers: bool
) -> CsatQuery:
    """How a custom object's answers are dated (docs/salesforce.md "When an answer counts"):
    by `csat_date_field`, unless that is `CreatedDate` and the org tracks the score's field
    history (then by the score's first change); `note` says so in `check`, and warns when
    records are written unanswered (offers exist) and neither can date their answers."""
    if config.csat_date_field.lower() != "createddate":
        return replace(csat, note=f"answers dated by {config.csat_date_field}")
    history = history_object(config.csat_object)
    if {"parentid", "field", "oldvalue", "newvalue", "createddate"} <= history_fields:
        return replace(
            csat,
            history=history,
            note=f"answers dated by the first change of {config.csat_score_field} in {history}",
        )
    if not has_offers:
        return replace(csat, note="answers dated by CreatedDate (records are created answered)")
    return replace(
        csat,
        note=(
            f"WARNING: {config.csat_object} has records with an empty {config.csat_score_field} "
            "(written when the survey is sent), and csat_date_field = CreatedDate is then "
            "the send, not the answer: answers are counted on the day they were sent. Set "
            f"sources.{config.source}.csat_date_field to the object's answer-date field, or "
            f"track {config.csat_score_field}'s field history (Setup > Object Manager > "
            f"{config.csat_object} > Fields & Relationships > Set History Tracking)"
        ),
    )
