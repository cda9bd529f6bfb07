"""Salesforce REST records (JSON dicts as `query`/`queryAll` return them) to interaction-model
records, and nothing else: no HTTP, no simple-salesforce, no database.

Rules, by their heading in docs/metrics.md: "Words" (a `Case` is an interaction; agents are
`005…` users, `00G…` queues never are; resolved is `IsClosed`, for statuses in history the
`CaseStatus` table; the customer is `ContactId`, else `SuppliedEmail`; `CaseHistory` rows with
one `CreatedDate` are one update), "Left out" (`IsDeleted`) and "CSAT" (a number kept as text;
scoring reads it on the [csat] scale). A web-to-case customer known only by `SuppliedEmail` is
kept as a keyed hash, never the address (issue 11, "Privacy").

Parsing is strict where the model needs a value (ids, times, status) and lenient where the API
is loose: booleans come as JSON booleans from REST and as "true"/"false" from Bulk CSV, times
end in `+0000` or `Z`, extra keys (`attributes`) are normal. A record that cannot be read
raises `MalformedRecordError` naming the object, the record Id and the field.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from connectors.record_fields import in_range, shown, time_field
from interactions import (
    PAGE_NOT_STORED,
    Agent,
    ConfigError,
    Interaction,
    MalformedRecordError,
    OwnershipChange,
    Rating,
    StatusChange,
)

# Fields that hold a customer's own words of who they are: stored only as a keyed hash.
PERSONAL_FIELDS = ("SuppliedEmail",)
USER_PREFIX = "005"  # docs/metrics.md "Words": Agent
QUEUE_PREFIX = "00G"  # docs/metrics.md "Words": groups and queues are never agents
_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
IDENTIFIER_MAX = 100

# CaseHistory `Field` values that record a change of owner (research/salesforce-api.md
# "Settled since": assignment rules and "accept from queue" write their own field names).
OWNER_FIELDS = frozenset({"Owner", "ownerAssignment", "ownerAccepted", "ownerEscalated"})
STATUS_FIELD = "Status"

# Times outside these are no time a Salesforce org keeps; refusing them keeps day and
# window arithmetic clear of the ends of `datetime`.


def identifier(name: str, what: str) -> str:
    """`name` when it is a plain SOQL object or field name, else `ConfigError`: settings
    name objects and fields that are put into SOQL text, so nothing else may pass."""
    if not isinstance(name, str) or len(name) > IDENTIFIER_MAX or not _IDENTIFIER.match(name):
        raise ConfigError(
            f"{what} {name!r} is not a Salesforce object or field name: use letters, digits "
            f"and underscores, starting with a letter, at most {IDENTIFIER_MAX} characters "
            "(e.g. CSAT_Score__c)."
        )
    return name


# Distinct values remembered by the cached readers below: a page repeats a few values many
# times (a case's Id in each of its history rows, an owner in each of its cases, an update's
# CreatedDate in each of its rows, next to each other), so a small cache finds nearly every
# repeat, and its size does not grow with the desk (peak memory, bench/PROFILE.md).
REMEMBERED_VALUES = 4096


def is_salesforce_id(value: Any) -> bool:
    """Whether `value` has the shape of a 15- or 18-character Salesforce record Id."""
    return isinstance(value, str) and _id_form(value) is not None


@lru_cache(maxsize=REMEMBERED_VALUES)
def _id_form(value: str) -> str | None:
    """`value` as an 18-character Id, or None when it has no Id's shape; worked out once per
    distinct value (a regular expression and the suffix are most of reading a history row)."""
    return full_id(value) if _SALESFORCE_ID.match(value) is not None else None


_SUFFIX_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def full_id(value: str) -> str:
    """A Salesforce Id in its 18-character form: a 15-character Id (case-sensitive, as an
    integration or a report export may pass it on) gets its case-safe suffix, one
    character per 5-character chunk saying which of its letters are upper case. Ids are
    compared and stored in this form only, so one record is never two."""
    if len(value) != 15:
        return value
    suffix = ""
    for start in (0, 5, 10):
        chunk = value[start : start + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_CHARACTERS[bits]
    return value + suffix


def salesforce_id(value: Any) -> str | None:
    """`value` as an 18-character Id, or None when it is no Salesforce Id."""
    return _id_form(value) if isinstance(value, str) else None


def is_user_id(value: Any) -> bool:
    """Whether `value` is the Id of a `User` (an agent, docs/metrics.md "Words")."""
    return is_salesforce_id(value) and str(value).startswith(USER_PREFIX)


def is_queue_id(value: Any) -> bool:
    """Whether `value` is the Id of a queue (a `Group`: never an owner, docs/metrics.md
    "Words")."""
    return is_salesforce_id(value) and str(value).startswith(QUEUE_PREFIX)


def owner_of(value: Any) -> str | None:
    """The owning agent an `OwnerId` names: the user, or None for a queue (no owner)."""
    found = salesforce_id(value)
    return found if found is not None and found.startswith(USER_PREFIX) else None


def _fail(obj: str, record: Mapping[str, Any], field: str, problem: str) -> MalformedRecordError:
    return MalformedRecordError(
        f"salesforce {obj} record Id={record.get('Id')!r}: field {field!r} {problem}. "
        f"{PAGE_NOT_STORED}; if the API really sends this, please report it with the record."
    )


def _required_id(obj: str, record: Mapping[str, Any], field: str) -> str:
    value = record.get(field)
    # `salesforce_id`, one call less: two ids of every history row come through here.
    found = _id_form(value) if isinstance(value, str) else None
    if found is None:
        raise _fail(obj, record, field, f"is not a Salesforce Id ({shown(value)})")
    return found


def _own_id(obj: str, record: Mapping[str, Any]) -> str:
    """A record's own `Id`, as `_required_id` reads it. Each is met once in a backfill (a
    case's, a history row's), so the cache of `_id_form` would only miss, and push out the
    ids that repeat: an Id in the 18-character form the API sends, letters and digits, is
    known as it is, and anything else is read by `_required_id`."""
    value = record.get("Id")
    if type(value) is str and len(value) == 18 and value.isascii() and value.isalnum():
        return value
    return _required_id(obj, record, "Id")


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _flag(obj: str, record: Mapping[str, Any], field: str, default: bool) -> bool:
    """A checkbox: a JSON boolean (REST) or "true"/"false" (Bulk CSV); `default` if absent."""
    value = record.get(field)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "false"):
            return word == "true"
    raise _fail(obj, record, field, f"is not true or false ({shown(value)})")


def parse_time(value: Any) -> datetime | None:
    """A Salesforce datetime (`2026-01-05T10:00:00.000+0000`, or ending in `Z`) or date as an
    aware UTC datetime; None for null/"". Anything else, or out of range, is `ValueError`."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    return _utc_time(value)


@lru_cache(maxsize=REMEMBERED_VALUES)
def _utc_time(value: str) -> datetime:
    """`parse_time` of a text, worked out once per distinct text (a `ValueError` is not
    remembered, and is raised again each time)."""
    moment = datetime.fromisoformat(value.strip())  # Python 3.11 reads `+0000` and `Z`
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a Date field: midnight UTC
    moment = moment.astimezone(UTC)
    return in_range(moment, value)


def _time(obj: str, record: Mapping[str, Any], field: str, required: bool) -> datetime | None:
    value = record.get(field)
    if isinstance(value, str) and value:
        try:
            return _utc_time(value)  # the usual case, without building the error's reader
        except ValueError:
            pass  # read again below, for the message
    return time_field(
        record, field, required, parse_time, lambda problem: _fail(obj, record, field, problem)
    )


def _required_time(obj: str, record: Mapping[str, Any], field: str) -> datetime:
    value = record.get(field)
    if isinstance(value, str) and value:
        try:
            return _utc_time(value)  # the usual case, one call less than through `_time`
        except ValueError:
            pass  # read again below, for the message
    moment = _time(obj, record, field, required=True)
    assert moment is not None  # _time raised otherwise
    return moment


def hashed_email(address: str, key: bytes) -> str:
    """A web-to-case customer's stand-in id: HMAC-SHA256 of the trimmed, lower-cased
    address under `key`. The same address gives the same id (so FCR's repeat contacts are
    still seen), and the address itself is never stored (issue 11, "Privacy")."""
    if not key:
        raise ConfigError(
            "the key for hashing Salesforce SuppliedEmail is empty: set the environment "
            "variable named by the source's email hash key setting to a long random value."
        )
    digest = hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256)
    return f"email:{digest.hexdigest()}"


@dataclass(frozen=True)
class CaseStatuses:
    """The org's case statuses as `CaseStatus` lists them (`ApiName` and `MasterLabel`), and
    which of them are closed: the org's configuration, not a list in code."""

    known: frozenset[str]
    closed: frozenset[str]

    def checked(self, obj: str, record: Mapping[str, Any], field: str, value: Any) -> str:
        """`value` when it is a status of the org; a status `CaseStatus` does not list is an
        `UnknownStatusError` (docs/metrics.md "Words": never guessed open or closed)."""
        if not isinstance(value, str) or not value.strip():
            raise _fail(obj, record, field, f"is missing or not text ({shown(value)})")
        if value not in self.known:
            raise UnknownStatusError(
                f"salesforce {obj} record Id={record.get('Id')!r}: field {field!r} names the "
                f"status {shown(value)}, which CaseStatus does not list (it lists "
                f"{', '.join(sorted(self.known))}), so whether it is closed is not known. If "
                "the status is new, run again (CaseStatus is read again once a run); if it "
                "is not a status of the org, the record is wrong at the source."
            )
        return value


class UnknownStatusError(MalformedRecordError):
    """A status the org's `CaseStatus` does not list."""


def interaction_from_case(
    source: str, case: Mapping[str, Any], statuses: CaseStatuses, *, email_key: bytes
) -> Interaction:
    """A `Case` as it stands now. `statuses` (from `case_statuses_from`) decides resolution
    only when the record carries no `IsClosed`; a status it does not list is refused."""
    case_id = _own_id("Case", case)
    status = statuses.checked("Case", case, "Status", case.get("Status"))
    created_at = _required_time("Case", case, "CreatedDate")
    changed = [
        moment
        for field in ("LastModifiedDate", "SystemModstamp")
        if (moment := _time("Case", case, field, required=False)) is not None
    ]
    contact = case.get("ContactId")
    email = _optional_text(case.get("SuppliedEmail"))
    customer_id = salesforce_id(contact)
    if customer_id is None and email is not None:
        customer_id = hashed_email(email, email_key)
    # An owner is a user (the owning agent) or a queue (a group, no owner): one reading.
    owner = salesforce_id(case.get("OwnerId"))
    return Interaction(
        source=source,
        interaction_id=case_id,
        created_at=created_at,
        updated_at=max([created_at, *changed]),
        status=status,
        resolved=_flag("Case", case, "IsClosed", default=status in statuses.closed),
        deleted=_flag("Case", case, "IsDeleted", default=False),
        customer_id=customer_id,
        owner_id=owner if owner is not None and owner.startswith(USER_PREFIX) else None,
        group_id=owner if owner is not None and owner.startswith(QUEUE_PREFIX) else None,
        solved_at=_time("Case", case, "ClosedDate", required=False),
    )


def case_statuses_from(rows: Iterable[Mapping[str, Any]]) -> CaseStatuses:
    """The status values (`ApiName` and `MasterLabel`) of `CaseStatus` rows, and those of
    rows with `IsClosed`."""
    known: set[str] = set()
    closed: set[str] = set()
    for row in rows:
        names = {
            str(row[name])
            for name in ("ApiName", "MasterLabel")
            if isinstance(row.get(name), str) and row[name]
        }
        known |= names
        if _flag("CaseStatus", row, "IsClosed", default=False):
            closed |= names
    return CaseStatuses(frozenset(known), frozenset(closed))


def _owners_of_id_row(row: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    """The previous and new owner (`owner_of`: a queue is none) of an owner change's ids
    row; None for its names row. An owner change writes two rows, names and ids; the ids
    one is that where any value given is a user or queue Id, and one is given. Each value
    is read once, for both questions."""
    owners: list[str | None] = []
    given = False
    for value in (row.get("OldValue"), row.get("NewValue")):
        if value is None or value == "":
            owners.append(None)
            continue
        found = salesforce_id(value)
        if found is None or not found.startswith((USER_PREFIX, QUEUE_PREFIX)):
            return None
        given = True
        owners.append(found if found.startswith(USER_PREFIX) else None)
    return (owners[0], owners[1]) if given else None


def changes_from_case_history(
    source: str, rows: Iterable[Mapping[str, Any]], statuses: CaseStatuses
) -> Iterator[OwnershipChange | StatusChange]:
    """The owner and status changes in `CaseHistory` rows of one or several cases.

    Rows with one CaseId and CreatedDate are one update (docs/metrics.md "Words": Update).
    Creation writes no row: a case's first owner and status are the `OldValue` of its first
    row, which the changes carry as `previous_owner`/`previous_status`.
    """
    # Salesforce may record one reassignment under two field names (`Owner` and
    # `ownerAssignment`) in one update: the repeat is dropped. Rows come in CreatedDate order,
    # so only the current moment's changes need remembering.
    seen_at: datetime | None = None
    seen: set[tuple[str, str | None, str | None]] = set()
    at_text: tuple[Any, str] = (None, "")  # the last CreatedDate's text in the update id
    closed = statuses.closed
    for row in rows:
        field = row.get("Field")
        owners = _owners_of_id_row(row) if field in OWNER_FIELDS else None
        if owners is None and field != STATUS_FIELD:
            continue  # other tracked fields, and the name twin of an owner change
        row_id = _own_id("CaseHistory", row)
        case_id = _required_id("CaseHistory", row, "CaseId")
        at = _required_time("CaseHistory", row, "CreatedDate")
        if at_text[0] != at:  # an update's rows come together: each moment is written once
            at_text = (at, at.isoformat())
        update_id = f"{case_id}@{at_text[1]}"  # the same text from REST and Bulk times
        if owners is not None:
            previous, new = owners
            if at != seen_at:
                seen_at, seen = at, set()
            if (update_id, previous, new) in seen:
                continue
            seen.add((update_id, previous, new))
            yield OwnershipChange(
                source=source,
                change_id=row_id,
                interaction_id=case_id,
                update_id=update_id,
                at=at,
                previous_owner=previous,
                new_owner=new,
            )
            continue
        new_status = _optional_text(row.get("NewValue"))
        if new_status is None:
            raise _fail("CaseHistory", row, "NewValue", "is missing for a Status change")
        statuses.checked("CaseHistory", row, "NewValue", new_status)
        previous_status = _optional_text(row.get("OldValue"))
        if previous_status is not None:
            statuses.checked("CaseHistory", row, "OldValue", previous_status)
        yield StatusChange(
            source=source,
            change_id=row_id,
            interaction_id=case_id,
            update_id=update_id,
            at=at,
            previous_status=previous_status,
            new_status=new_status,
            previous_resolved=previous_status in closed if previous_status is not None else None,
            resolved=new_status in closed,
        )


def agent_from_user(source: str, user: Mapping[str, Any]) -> Agent:
    """A `User` (docs/metrics.md "Words": Agent); inactive once `IsActive` is false."""
    agent_id = _required_id("User", user, "Id")
    if not is_user_id(agent_id):
        raise _fail("User", user, "Id", f"is not a user Id ({USER_PREFIX}…)")
    changed = _time("User", user, "SystemModstamp", required=False)
    return Agent(
        source=source,
        agent_id=agent_id,
        name=_optional_text(user.get("Name")),
        email=_optional_text(user.get("Email")),
        role=_optional_text(user.get("UserType")),
        active=_flag("User", user, "IsActive", default=True),
        updated_at=changed or _time("User", user, "LastModifiedDate", required=False),
    )


@dataclass(frozen=True)
class SurveyFields:
    """Where a custom object keeps CSAT answers (settings); every name is an identifier."""

    object_name: str
    case_field: str
    score_field: str
    date_field: str
    comment_field: str | None = None

    def __post_init__(self) -> None:
        identifier(self.object_name, "CSAT object")
        for name in (self.case_field, self.score_field, self.date_field, self.comment_field):
            if name is not None:
                identifier(name, f"CSAT field of {self.object_name}")


def _score_text(obj: str, record: Mapping[str, Any], field: str) -> str:
    """A score as text, as the org keeps it ("4", "4.0"); "" when empty (no answer)."""
    value = record.get(field)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(obj, record, field, f"is not a number ({shown(value)})")
    text = str(value).strip()
    if text:
        try:
            float(text)
        except ValueError:
            raise _fail(obj, record, field, f"is not a number ({shown(value)})") from None
    return text


def survey_record_counts(record: Mapping[str, Any], fields: SurveyFields) -> bool:
    """Whether a custom-object CSAT record is a response of a case (docs/metrics.md "CSAT"):
    one with an empty score is an offer (a survey tool that writes the record when the
    survey is sent), one with an empty case link belongs to no interaction (Salesforce clears
    a lookup when the case it points to is deleted or merged away), and one deleted in the
    org (queryAll's `IsDeleted`) is no longer there. None counts, and none is an error."""
    return (
        record.get(fields.case_field) not in (None, "")
        and _score_text(fields.object_name, record, fields.score_field) != ""
        and not _flag(fields.object_name, record, "IsDeleted", default=False)
    )


def rating_from_survey_record(
    source: str,
    record: Mapping[str, Any],
    fields: SurveyFields,
    first_answered_at: datetime | None = None,
    day_zone: str = "UTC",
) -> Rating:
    """A custom-object CSAT record that counts (`survey_record_counts`): the score on the
    [csat] scale, kept as text; it names no agent, so scoring gives it to the case's
    resolver. It counts from `first_answered_at` when the score's field history shows it
    (the record was written before it was answered), else from its date field (a Date
    field's day is a day of `day_zone`, the settings' time zone)."""
    obj = fields.object_name
    answered_at = first_answered_at or _answer_time(obj, record, fields.date_field, day_zone)
    comment = record.get(fields.comment_field) if fields.comment_field else None
    return Rating(
        source=source,
        rating_id=_required_id(obj, record, "Id"),
        interaction_id=_required_id(obj, record, fields.case_field),
        agent_id=None,
        score=_score_text(obj, record, fields.score_field),
        comment=_optional_text(comment),
        created_at=answered_at,
        # An edited record is a changed answer (docs/metrics.md "CSAT"): the latest counts.
        updated_at=max(
            answered_at, _time(obj, record, "LastModifiedDate", required=False) or answered_at
        ),
        survey_id="",
    )


def offer_from_survey_record(
    source: str, record: Mapping[str, Any], fields: SurveyFields
) -> Rating | None:
    """A custom-object CSAT record that does not count (`survey_record_counts`), as an offer
    (an empty score) of its case, or of none: stored, it takes the place of the answer an
    earlier read of the same record stored, which then counts nowhere either (a survey tool
    that empties its record to send the survey again, an answer cleared or unlinked from
    its case; docs/metrics.md "CSAT"). None when the record has no time to order it by."""
    obj = fields.object_name
    changed = _time(obj, record, "LastModifiedDate", required=False) or _time(
        obj, record, "SystemModstamp", required=False
    )
    if changed is None:
        return None
    return Rating(
        source=source,
        rating_id=_required_id(obj, record, "Id"),
        interaction_id=salesforce_id(record.get(fields.case_field)) or "",
        agent_id=None,
        score="",
        comment=None,
        created_at=changed,
        updated_at=changed,
        survey_id="",
    )


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _answer_time(obj: str, record: Mapping[str, Any], field: str, day_zone: str) -> datetime:
    """The moment an answer-date field says. A Date field (`2026-10-24`, as REST and Bulk
    send one) names a day, not a moment: its start in `day_zone`, so that the answer counts
    on that day (docs/metrics.md "Words": Day), not on the day before west of UTC."""
    value = record.get(field)
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        try:
            start = datetime.combine(date.fromisoformat(value.strip()), time(), ZoneInfo(day_zone))
            return in_range(start.astimezone(UTC), value)
        except ValueError:
            pass  # no day of the calendar, or out of range: read below, for the message
    return _required_time(obj, record, field)


def rating_from_feedback_response(
    source: str,
    response: Mapping[str, Any],
    question_ids: Collection[str],
    case_of: Mapping[str, str],
) -> Rating | None:
    """A Feedback Management `SurveyQuestionResponse` to a CSAT question (`question_ids`) as a
    rating; None for an answer to another question (one response can hold CSAT and NPS) or
    about no case. `case_of` maps the invitation and response Ids that `SurveySubject.ParentId`
    names to the case (`SubjectId`).

    Feedback Management answers cannot be edited (research/salesforce-api.md "Settled
    since"); one that was changed all the same is dated by its `SystemModstamp`. Each
    survey sent is an invitation of its own: a case surveyed again after a reopen has a
    response per invitation (docs/metrics.md "CSAT": at most one response per survey)."""
    obj = "SurveyQuestionResponse"
    if salesforce_id(response.get("QuestionId")) not in question_ids:
        return None
    case_id = next(
        (
            case_of[parent]
            for value in (response.get("InvitationId"), response.get("ResponseId"))
            if (parent := salesforce_id(value)) is not None and parent in case_of
        ),
        None,
    )
    if case_id is None:
        return None
    answered_at = _required_time(obj, response, "CreatedDate")
    changed = _time(obj, response, "SystemModstamp", required=False) or answered_at
    return Rating(
        source=source,
        rating_id=_required_id(obj, response, "Id"),
        interaction_id=case_id,
        agent_id=None,
        score=_score_text(obj, response, "NumberValue"),
        comment=None,
        created_at=answered_at,
        # An answer changed in place after all is the latest answer (docs/metrics.md "CSAT").
        updated_at=max(answered_at, changed),
        survey_id=salesforce_id(response.get("InvitationId"))
        or salesforce_id(response.get("ResponseId"))
        or "",
    )
