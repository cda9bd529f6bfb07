"""What a Zendesk record set aside in quarantine keeps: the fields deskmetrics reads of it.

A record that cannot be read is kept so that a user can report it (`deskmetrics quarantine
--show`). Nothing else deskmetrics stores holds a ticket's subject, description, comments
or a survey's questions, so neither does the quarantine: each stream keeps the fields
connectors/zendesk_records.py reads, as received (a wrong value is what the report is
about), and a child event or an answer keeps only what is read of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

TICKET_FIELDS = (
    "id",
    "status",
    "created_at",
    "updated_at",
    "generated_timestamp",
    "requester_id",
    "assignee_id",
    "group_id",
)
METRIC_SET_FIELDS = ("solved_at", "reopens", "assignee_stations")
# The ticket's current rating (RatingState): its comment is read and stored with the rating.
EMBEDDED_RATING_FIELDS = ("id", "score", "comment")
EVENT_FIELDS = ("id", "ticket_id", "created_at", "timestamp")
CHILD_KIND_FIELDS = ("id", "event_type", "type")
# What deskmetrics reads of a child: who owns the ticket and its status. A child about any
# other field (a subject, a comment) keeps only its id and kind.
READ_CHILD_FIELDS = frozenset({"assignee_id", "status"})
RATING_FIELDS = ("id", "ticket_id", "assignee_id", "score", "comment", "created_at", "updated_at")
USER_FIELDS = ("id", "name", "email", "role", "active", "suspended", "updated_at")
SURVEY_RESPONSE_FIELDS = ("id", "survey_id", "survey_version", "subject_zrns")
RATING_ANSWER_FIELDS = ("type", "rating", "rating_category", "created_at", "updated_at")


def kept_record(stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a record of `stream` (as `ZendeskConnector._records` names it) that
    deskmetrics reads; of a stream it does not know, the id alone."""
    keep = _KEEPERS.get(stream)
    return keep(record) if keep is not None else _picked(record, ("id",))


def _ticket(ticket: Mapping[str, Any]) -> dict[str, Any]:
    kept = _picked(ticket, TICKET_FIELDS)
    if "metric_set" in ticket:
        kept["metric_set"] = _nested(ticket["metric_set"], METRIC_SET_FIELDS)
    if "satisfaction_rating" in ticket:
        kept["satisfaction_rating"] = _nested(ticket["satisfaction_rating"], EMBEDDED_RATING_FIELDS)
    return kept


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    kept = _picked(event, EVENT_FIELDS)
    if "child_events" in event:
        children = event["child_events"]
        kept["child_events"] = (
            [_child(c) for c in children] if isinstance(children, list) else _kind(children)
        )
    return kept


def _child(child: Any) -> Any:
    if not isinstance(child, Mapping):
        return _kind(child)
    kept = _picked(child, CHILD_KIND_FIELDS)
    field = child.get("field_name")
    if isinstance(field, str) and field in READ_CHILD_FIELDS:
        kept.update(_picked(child, ("field_name", "value", "previous_value")))
    read = READ_CHILD_FIELDS.intersection(child)
    if read:
        kept.update(_picked(child, (*sorted(read), "previous_value")))
    return kept


def _survey_response(response: Mapping[str, Any]) -> dict[str, Any]:
    kept = _picked(response, SURVEY_RESPONSE_FIELDS)
    if "survey" in response:
        kept["survey"] = _nested(response["survey"], ("id", "version"))
    if "subjects" in response:
        subjects = response["subjects"]
        kept["subjects"] = (
            [_nested(s, ("type", "id")) for s in subjects]
            if isinstance(subjects, list)
            else _kind(subjects)
        )
    if "answers" in response:
        answers = response["answers"]
        kept["answers"] = (
            [_answer(a) for a in answers] if isinstance(answers, list) else _kind(answers)
        )
    return kept


def _answer(answer: Any) -> Any:
    """A rating answer with its question's sub-type; an open-ended answer's value, which is
    the rating's comment; of any other answer, its type."""
    if not isinstance(answer, Mapping):
        return _kind(answer)
    kind = answer.get("type")
    if kind == "rating_scale":
        kept = _picked(answer, RATING_ANSWER_FIELDS)
        if "question" in answer:
            kept["question"] = _nested(answer["question"], ("sub_type",))
        return kept
    if kind == "open_ended":
        return _picked(answer, ("type", "value"))
    return _picked(answer, ("type",))


def _picked(record: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: record[name] for name in names if name in record}


def _nested(value: Any, names: Iterable[str]) -> Any:
    return _picked(value, names) if isinstance(value, Mapping) else _kind(value)


def _kind(value: Any) -> Any:
    """A value where an object or a list was expected: kept when it cannot hold text, else
    only its type (a string there may be anything, a message body included)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return f"<{type(value).__name__}>"


_KEEPERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "tickets": _ticket,
    "ticket_events": _event,
    "satisfaction_ratings": lambda rating: _picked(rating, RATING_FIELDS),
    "users": lambda user: _picked(user, USER_FIELDS),
    "survey_responses": _survey_response,
}
