"""Salesforce record ids: 18 characters, a 3-character key prefix, derived from desk ids.

Owns `sf_id(prefix, number)`: the same desk id always gives the same Salesforce id, with the
case-safe 3-character suffix Salesforce appends to its 15-character ids; and the ids of the
desk's people and tickets (`user_id`, `queue_id`, `contact_id`, `case_id`), so anything keyed
by desk ids (the ground truth) maps across.
"""

from __future__ import annotations

import string

USER = "005"
QUEUE = "00G"
CONTACT = "003"
CASE = "500"
CASE_HISTORY = "017"
SURVEY = "a0S"  # custom objects get an org-specific prefix; this one is Case_Survey__c's
ORG = "00D"

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
_POD = "5g0"  # the instance part of a real id; fixed here


def _base62(number: int, width: int) -> str:
    if number < 0 or number >= 62**width:
        raise ValueError(f"{number} does not fit in {width} base-62 digits")
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def case_safe_suffix(id15: str) -> str:
    """Salesforce's suffix: one character per 5-character chunk, encoding which are upper case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        suffix += _SUFFIX[bits]
    return suffix


def sf_id(prefix: str, number: int) -> str:
    """The 18-character id of record `number` of the object whose key prefix is `prefix`."""
    id15 = prefix + _POD + _base62(number, 9)
    return id15 + case_safe_suffix(id15)


def user_id(desk_user_id: int) -> str:
    """The `User` (agent) of a desk user."""
    return sf_id(USER, desk_user_id)


def queue_id(desk_group_id: int) -> str:
    """The queue (`Group` of Type Queue) of a desk group."""
    return sf_id(QUEUE, desk_group_id)


def contact_id(desk_user_id: int) -> str:
    """The `Contact` of a desk customer."""
    return sf_id(CONTACT, desk_user_id)


def case_id(ticket_id: int) -> str:
    """The `Case` of a desk ticket."""
    return sf_id(CASE, ticket_id)
