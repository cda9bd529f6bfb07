"""Zendesk API records (plain JSON dicts) to interaction-model records, and nothing else.

Parsing is strict where the model needs a value (ids, times, status) and lenient where
Zendesk is loose: ids arrive as integers or strings, "none" as null or "", child events
of unknown types and extra keys are normal (research/zendesk-api.md "Settled since").
A record that cannot be read raises `MalformedRecordError` naming the stream, the record
and the field, so the user can report it; nothing of its page is stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.record_fields import EARLIEST, LATEST, in_range, shown, time_field
from interactions import (
    PAGE_NOT_STORED,
    Agent,
    Interaction,
    MalformedRecordError,
    OwnershipChange,
    Rating,
    RatingState,
    SatisfactionChange,
    StatusChange,
)

RESOLVED_STATUSES = frozenset({"solved", "closed"})  # docs/metrics.md "Words": Resolved
# Every status a Zendesk ticket has (custom statuses map onto these): another value is a
# record the model does not know, never a guess at "unresolved".
STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")
AGENT_ROLES = frozenset({"agent", "admin"})  # docs/metrics.md "Words": Agent


def _fail(stream: str, record: Mapping[str, Any], field: str, problem: str) -> MalformedRecordError:
    return MalformedRecordError(
        f"zendesk {stream} record id={record.get('id')!r}: field {field!r} {problem}. "
        f"{PAGE_NOT_STORED}; if the API really sends this, please report it with the record "
        "(no secrets are in it)."
    )


def _required_id(stream: str, record: Mapping[str, Any], field: str) -> str:
    raw = record.get(field)
    value = optional_id(raw)
    if value is None:
        raise _fail(stream, record, field, f"is missing or empty ({raw!r})")
    return value


def _id_of(stream: str, record: Mapping[str, Any], field: str) -> str | None:
    """An optional id field of a record (`optional_id`); one holding an object or a list
    is a record that does not read, not an interaction of nobody's."""
    raw = record.get(field)
    if isinstance(raw, Mapping | list):
        raise _fail(stream, record, field, f"is not an id ({type(raw).__name__})")
    return optional_id(raw)


def optional_id(value: Any) -> str | None:
    """A Zendesk id as text; None for null, "", 0 (Zendesk's ways of saying "nobody")."""
    # Nearly every id is a JSON integer: read before the checks for the other shapes (a
    # bool is no `int` here, `type` being exact; it is "nobody" below).
    if type(value) is int:
        return str(value) if value != 0 else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value != 0 else None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if value != 0 else None
    if not isinstance(value, str | float):
        return None  # an object or a list names no one: never its Python text as an id
    text = str(value).strip()
    return text if text not in ("", "0", "null") else None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string or unix seconds as an aware UTC datetime; None for null/"".

    Anything else, or a time outside record_fields' [EARLIEST, LATEST), is a `ValueError`: never an
    `OverflowError` or `OSError` from the calendar's edges.
    """
    if value is None or value == "":
        return None
    try:
        moment = _moment(value)
    except (OverflowError, OSError) as out_of_range:
        raise ValueError(f"out of range: {value!r}") from out_of_range
    return in_range(moment, value)


def _moment(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    raise ValueError(f"not a time: {value!r}")


def _time(stream: str, record: Mapping[str, Any], field: str, required: bool) -> datetime | None:
    value = record.get(field)
    if type(value) is str:
        # Nearly every time is ISO text in UTC ("…Z"): read in one step; anything else, and
        # every error, by `parse_time` below.
        try:
            moment = _from_iso(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is UTC and EARLIEST <= moment < LATEST:
                return moment
    return time_field(
        record, field, required, parse_time, lambda problem: _fail(stream, record, field, problem)
    )


_from_iso = datetime.fromisoformat


def interaction_from_ticket(source: str, ticket: Mapping[str, Any]) -> Interaction:
    """A ticket of the cursor export, with its embedded `metric_set` when there is one."""
    ticket_id = _required_id("ticket", ticket, "id")
    status = _status("ticket", ticket, "status", ticket.get("status"))
    created_at = _time("ticket", ticket, "created_at", required=True)
    assert created_at is not None
    updated_at = _time("ticket", ticket, "updated_at", required=False) or created_at
    metric_set = ticket.get("metric_set")
    metrics: Mapping[str, Any] = metric_set if isinstance(metric_set, Mapping) else {}
    return Interaction(
        source=source,
        interaction_id=ticket_id,
        created_at=created_at,
        updated_at=updated_at,
        status=status,
        resolved=status in RESOLVED_STATUSES,
        deleted=status == "deleted",
        customer_id=_id_of("ticket", ticket, "requester_id"),
        owner_id=_id_of("ticket", ticket, "assignee_id"),
        group_id=_id_of("ticket", ticket, "group_id"),
        solved_at=_time("ticket metric_set", metrics, "solved_at", required=False),
        reopens=_optional_int(metrics.get("reopens")),
        assignee_stations=_optional_int(metrics.get("assignee_stations")),
    )


def rating_state_from_ticket(source: str, ticket: Mapping[str, Any]) -> RatingState | None:
    """The answer a ticket shows in `satisfaction_rating`, when it is a given one."""
    embedded = ticket.get("satisfaction_rating")
    if not isinstance(embedded, Mapping) or embedded.get("score") not in ("good", "bad"):
        return None
    rating_id = optional_id(embedded.get("id"))
    ticket_id = optional_id(ticket.get("id"))
    seen_at = _time("ticket", ticket, "updated_at", required=False)
    if rating_id is None or ticket_id is None or seen_at is None:
        return None
    comment = embedded.get("comment")
    return RatingState(
        source,
        rating_id,
        ticket_id,
        str(embedded["score"]),
        str(comment) if comment else None,
        seen_at,
        # Legacy ratings record the assignee at the time of rating: the ticket's assignee
        # as of its last change is the best stand-in until the ratings stream brings it.
        agent_id=optional_id(ticket.get("assignee_id")),
    )


def _status(stream: str, record: Mapping[str, Any], field: str, status: Any) -> str:
    """A Zendesk status, one of `STATUSES`; anything else is a `MalformedRecordError` naming
    the value (the source's `bad_records` decides: stop, or set the record aside)."""
    if not isinstance(status, str) or not status:
        raise _fail(stream, record, field, f"is missing or not text ({status!r})")
    if status not in STATUSES:
        subject = (
            f"ticket {record.get('id')}"
            if stream == "ticket"
            else f"{stream} record id={record.get('id')!r} of ticket {record.get('ticket_id')}"
        )
        raise MalformedRecordError(
            f"zendesk {subject}: field {field!r} is {shown(status)}, not a Zendesk status "
            f"({', '.join(STATUSES)}): an integration's value or a proxy's rewrite? It is "
            "not counted as unresolved. "
            'Fix the value at its origin, or set bad_records = "quarantine" for this source '
            "to set such records aside and read on (`deskmetrics quarantine` lists them)."
        )
    return status


# A count of a ticket's metric_set no warehouse column can hold (PostgreSQL's `integer`) is
# no count Zendesk keeps: it is stored as unknown, on SQLite and PostgreSQL alike.
_COUNT_BOUND = 2**31


def _optional_int(value: Any) -> int | None:
    """A count as an integer; None for null, for what is no number (text, an object, a
    number past any float, which JSON reads as infinity) and for one out of range."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None  # true is no count, and 2.5 reopens is no count either
    try:
        number = int(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
    if number is None or not -_COUNT_BOUND <= number < _COUNT_BOUND:
        return None
    return number


Change = OwnershipChange | StatusChange | SatisfactionChange


def changes_from_event(source: str, event: Mapping[str, Any]) -> Iterator[Change]:
    """The owner, status and satisfaction-score changes of one ticket event (one update,
    docs/metrics.md "Words")."""
    event_id = _required_id("ticket_event", event, "id")
    ticket_id = _required_id("ticket_event", event, "ticket_id")
    at = _time("ticket_event", event, "created_at", required=False) or _time(
        "ticket_event", event, "timestamp", required=True
    )
    assert at is not None
    children = event.get("child_events") or []
    if not isinstance(children, list):
        raise _fail("ticket_event", event, "child_events", "is not a list")
    for index, raw_child in enumerate(children):
        # A child is a JSON object: `type` is a quick yes for it, where `isinstance`
        # against the `Mapping` ABC, for each child of each event, is not.
        if type(raw_child) is dict:
            if _names_no_change(raw_child):
                continue  # most children: a comment, the subject, tags, priority…
        elif not isinstance(raw_child, Mapping):
            continue
        child = _keyed_by_field(raw_child)
        kind = child.get("event_type", child.get("type"))
        if kind not in ("Create", "Change", None):
            continue  # comments, notifications, SLA… carry no ownership or status
        is_change = kind == "Change"
        change_id = optional_id(child.get("id")) or f"{event_id}.{index}"
        if "assignee_id" in child:
            before = _id_of("ticket_event", child, "previous_value") if is_change else None
            yield OwnershipChange(
                source=source,
                change_id=f"{change_id}:assignee",
                interaction_id=ticket_id,
                update_id=event_id,
                at=at,
                previous_owner=before,
                new_owner=_id_of("ticket_event", child, "assignee_id"),
            )
        if "status" in child:
            new_status = _status("ticket_event", event, "child_events.status", child.get("status"))
            previous = child.get("previous_value") if is_change else None
            previous_status = (
                _status("ticket_event", event, "child_events.previous_value", previous)
                if isinstance(previous, str) and previous
                else None
            )
            yield StatusChange(
                source=source,
                change_id=f"{change_id}:status",
                interaction_id=ticket_id,
                update_id=event_id,
                at=at,
                previous_status=previous_status,
                new_status=new_status,
                previous_resolved=(
                    previous_status in RESOLVED_STATUSES if previous_status is not None else None
                ),
                resolved=new_status in RESOLVED_STATUSES,
            )
        if "satisfaction_score" in child:
            # Zendesk's "Satisfaction rating event": where a rating's first answer is kept
            # when the rating record is re-dated by a change (docs/metrics.md "CSAT").
            previous_score = _score_word(child.get("previous_value")) if is_change else None
            yield SatisfactionChange(
                source=source,
                change_id=f"{change_id}:satisfaction",
                interaction_id=ticket_id,
                update_id=event_id,
                at=at,
                previous_score=previous_score,
                score=_score_word(child.get("satisfaction_score")) or "",
            )


# The fields `changes_from_event` reads a change of.
_CHANGE_FIELDS = frozenset({"assignee_id", "status", "satisfaction_score"})


def _names_no_change(child: dict[str, Any]) -> bool:
    """Whether a child names none of `_CHANGE_FIELDS`, as a key or in the audit shape
    (`_keyed_by_field`): such a child gives no change whatever its type. Most children of
    an event are such (a ticket's creation sets its subject, tags, priority… too), and the
    check is two set operations, before any other of the child's fields is read."""
    if _CHANGE_FIELDS.isdisjoint(child):
        field = child.get("field_name")
        # Only a text names a field (an odd `field_name` such as a list is no key here).
        return not (isinstance(field, str) and field in _CHANGE_FIELDS)
    return False


def _score_word(value: Any) -> str | None:
    """A satisfaction score as text (`good`, `offered`, …); None for null or ""."""
    if value is None:
        return None
    return str(value).strip() or None


SATISFACTION_FIELDS = ("satisfaction_score", "satisfaction_comment", "satisfaction_reason_code")


def ticket_of_satisfaction_change(event: Mapping[str, Any]) -> str | None:
    """The ticket whose satisfaction one ticket event changes (a survey offered, answered,
    changed, or offered again: Zendesk's "Satisfaction rating event"), else None."""
    children = event.get("child_events")
    for child in children if isinstance(children, list) else []:
        # A child names the field as a key, or in the audit shape (`_keyed_by_field`). A
        # child is a JSON object: `type` is a quick yes for it (see `changes_from_event`).
        if (type(child) is dict or isinstance(child, Mapping)) and (
            not _SATISFACTION_KEYS.isdisjoint(child) or _names_satisfaction_field(child)
        ):
            return optional_id(event.get("ticket_id"))
    return None


def _names_satisfaction_field(child: Mapping[str, Any]) -> bool:
    # Only a text names a field: an odd `field_name` (a list, an object) names none, and
    # is no key to look up.
    field = child.get("field_name")
    return isinstance(field, str) and field in _SATISFACTION_KEYS and "value" in child


_SATISFACTION_KEYS = frozenset(SATISFACTION_FIELDS)


def _keyed_by_field(child: Mapping[str, Any]) -> Mapping[str, Any]:
    """Children in the audit shape (`field_name`/`value`) as children keyed by the field."""
    field = child.get("field_name")
    if isinstance(field, str) and "value" in child and field not in child:
        return {**child, field: child["value"]}
    return child


def rating_from_json(source: str, rating: Mapping[str, Any]) -> Rating:
    """A legacy CSAT satisfaction rating; `score` kept as Zendesk says it."""
    created_at = _time("satisfaction_rating", rating, "created_at", required=True)
    assert created_at is not None
    score = rating.get("score")
    comment = rating.get("comment")
    return Rating(
        source=source,
        rating_id=_required_id("satisfaction_rating", rating, "id"),
        interaction_id=_required_id("satisfaction_rating", rating, "ticket_id"),
        agent_id=optional_id(rating.get("assignee_id")),
        score=str(score) if score is not None else "",
        comment=str(comment) if comment else None,
        created_at=created_at,
        updated_at=_time("satisfaction_rating", rating, "updated_at", required=False),
    )


def is_agent_role(role: Any) -> bool:
    """Whether a user's `role` is an agent's (a role that is not text is nobody's)."""
    return isinstance(role, str) and role in AGENT_ROLES


def agent_from_user(source: str, user: Mapping[str, Any]) -> Agent:
    """A user who can own tickets; inactive once suspended, deleted or no longer an agent."""
    role = user.get("role") if isinstance(user.get("role"), str) else None
    active = bool(user.get("active", True)) and not bool(user.get("suspended", False))
    name, email = user.get("name"), user.get("email")
    return Agent(
        source=source,
        agent_id=_required_id("user", user, "id"),
        name=str(name) if name else None,
        email=str(email) if email else None,
        role=str(role) if role else None,
        active=active and is_agent_role(role),
        updated_at=_time("user", user, "updated_at", required=False),
    )


def changes_from_audit(source: str, audit: Mapping[str, Any]) -> Iterator[Change]:
    """The owner, status and satisfaction-score changes of one ticket audit.

    Audits are the repair path for a single ticket (DESIGN.md "Sources"), never the sync
    path; their `events` are children in the `field_name`/`value` shape.
    """
    yield from changes_from_event(source, {**audit, "child_events": audit.get("events") or []})


# ---- new CSAT: survey responses and survey definitions ------------------------------------
#
# research/zendesk-new-csat.md "2. Record shape": a record is made when the survey is sent
# (`answers: []`) and holds the customer's answers once given; ids are ULID strings; times
# exist per answer only. Older copies of the API name the survey at the top level
# (`survey_id`/`survey_version`) and a ticket as "zrn:ticket:99".

SURVEY_TICKET_PREFIXES = ("zen:ticket:", "zrn:ticket:")
RATING_QUESTION_TYPES = frozenset(
    {"rating_scale_numeric", "rating_scale_emoji", "rating_scale_custom_text"}
)


def ticket_of_survey_response(response: Mapping[str, Any]) -> str | None:
    """The ticket a survey response is about; None for another subject (a messaging
    conversation), which is no interaction deskmetrics reads."""
    subjects = response.get("subjects")
    for subject in subjects if isinstance(subjects, list) else []:
        if isinstance(subject, Mapping) and subject.get("type") == "ticket":
            found = optional_id(subject.get("id"))
            if found is not None:
                return found
    zrns = response.get("subject_zrns")
    for zrn in zrns if isinstance(zrns, list) else []:
        for prefix in SURVEY_TICKET_PREFIXES:
            if isinstance(zrn, str) and zrn.startswith(prefix):
                found = optional_id(zrn.removeprefix(prefix))
                if found is not None:
                    return found
    return None


def survey_of_response(response: Mapping[str, Any]) -> tuple[str, int]:
    """(survey id, version) a response answers: `survey{id,version}`, or the older
    top-level `survey_id`/`survey_version`."""
    survey = response.get("survey")
    named: Mapping[str, Any] = survey if isinstance(survey, Mapping) else {}
    survey_id = optional_id(named.get("id", response.get("survey_id")))
    version = named.get("version", response.get("survey_version"))
    if survey_id is None:
        raise _fail("survey_response", response, "survey.id", "is missing")
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise _fail("survey_response", response, "survey.version", f"is {shown(version)}")
    try:
        return survey_id, int(version)
    except ValueError:
        raise _fail(
            "survey_response", response, "survey.version", f"is not a number ({shown(version)})"
        ) from None


def csat_rating_answer(response: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The `rating_scale` answer to the `customer_satisfaction` question, when given.

    A record without one is an offer, not a response (docs/metrics.md "CSAT"): one just sent
    (`answers: []`), and one whose rating was skipped.
    """
    answers = response.get("answers")
    if answers is None:
        return None
    if not isinstance(answers, list):
        raise _fail("survey_response", response, "answers", "is not a list")
    for answer in answers:
        if not isinstance(answer, Mapping) or answer.get("type") != "rating_scale":
            continue
        question = answer.get("question")
        if isinstance(question, Mapping) and question.get("sub_type") == "customer_satisfaction":
            return answer
    return None


def rating_from_survey_response(
    source: str, response: Mapping[str, Any], scale_max: float
) -> Rating:
    """A survey response holding a customer-satisfaction rating (`csat_rating_answer`), as
    one `Rating` (docs/metrics.md "CSAT"): the raw rating on the survey's scale 1..`scale_max`,
    Zendesk's `rating_category`, the first answer (`created_at`) and the latest
    (`updated_at`). A survey response names no agent: scoring gives it to the interaction's
    owner at the moment of the latest answer."""
    answer = csat_rating_answer(response)
    if answer is None:
        raise _fail("survey_response", response, "answers", "hold no customer-satisfaction rating")
    ticket_id = ticket_of_survey_response(response)
    if ticket_id is None:
        raise _fail("survey_response", response, "subjects", "name no ticket")
    survey_id, _ = survey_of_response(response)
    rating = answer.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int | float | str):
        raise _fail("survey_response", response, "answers.rating", f"is {shown(rating)}")
    try:
        value = float(rating)
    except ValueError:
        value = math.nan
    if not (value.is_integer() and 1 <= value <= scale_max):
        raise _fail(
            "survey_response",
            response,
            "answers.rating",
            f"is {shown(rating)}, not a whole number on the survey's scale 1..{scale_max:g}",
        )
    first = _time("survey_response answer", answer, "created_at", required=True)
    assert first is not None
    latest = _time("survey_response answer", answer, "updated_at", required=False) or first
    category = answer.get("rating_category")
    return Rating(
        source=source,
        rating_id=_required_id("survey_response", response, "id"),
        interaction_id=ticket_id,
        agent_id=None,
        score=str(int(value)),
        comment=_open_answer(response),
        created_at=first,
        updated_at=max(first, latest),
        survey_id=survey_id,
        scale_max=float(scale_max),
        category=str(category).strip().lower() if category else None,
    )


def _open_answer(response: Mapping[str, Any]) -> str | None:
    """The comment: the first non-empty `open_ended` answer's value (a skipped one has none)."""
    for answer in response.get("answers") or []:
        if isinstance(answer, Mapping) and answer.get("type") == "open_ended":
            value = answer.get("value")
            if isinstance(value, str) and value.strip():
                return value
    return None


def survey_scale(survey: Mapping[str, Any]) -> float | None:
    """N of a survey definition's customer-satisfaction rating question (its options rate
    1..N, whatever they show: numbers, emoji or text); None when it has none."""
    questions = survey.get("questions")
    for question in questions if isinstance(questions, list) else []:
        if not isinstance(question, Mapping):
            continue
        if question.get("sub_type") != "customer_satisfaction":
            continue
        if question.get("type") not in RATING_QUESTION_TYPES:
            continue
        options = question.get("options")
        ratings = [
            option.get("rating")
            for option in (options if isinstance(options, list) else [])
            if isinstance(option, Mapping)
        ]
        numbers = [r for r in ratings if isinstance(r, int) and not isinstance(r, bool)]
        if numbers and max(numbers) >= 2:
            return float(max(numbers))
    return None


def enabled_csat_surveys(surveys: Any) -> list[Mapping[str, Any]]:
    """The enabled surveys with a customer-satisfaction rating question, of a survey list."""
    return [
        survey
        for survey in (surveys if isinstance(surveys, list) else [])
        if isinstance(survey, Mapping)
        and survey.get("state") == "enabled"
        and survey_scale(survey) is not None
    ]
