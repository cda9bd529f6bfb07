"""The SOQL subset the simulator understands, and nothing looser.

Owns `parse(text) -> Query` and `Query.run(records)`. Accepted:
`SELECT f[, f...] FROM Object [WHERE c [AND c ...]] [ORDER BY f [ASC|DESC]] [LIMIT n]`, where a
condition is `field op literal` (op one of = != < <= > >=; a literal is a datetime such as
2024-01-01T00:00:00Z, a 'quoted string', a number, true, false or null) or
`field IN ('a', 'b')`. Anything else (OR, functions, relationship fields, sub-queries,
aggregates) is a `SoqlError` carrying Salesforce's error code: MALFORMED_QUERY, INVALID_FIELD
or INVALID_TYPE; the one aggregate form the simulator answers (a count per day) is
aggregates.py's. Keywords, object and field names are case-insensitive, as in Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sandbox.salesforce.schema import OBJECTS

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op><=|>=|!=|=|<|>)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "ASC", "DESC", "LIMIT"})


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != < <= > >= IN
    value: Any  # a datetime, str, float, bool, None, or a tuple of str for IN


@dataclass(frozen=True)
class Query:
    object_name: str
    fields: tuple[str, ...]
    conditions: tuple[Condition, ...]
    order_by: str | None
    descending: bool
    limit: int | None

    def run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The matching records, ordered and limited, each cut to the selected fields."""
        kinds = OBJECTS[self.object_name]
        chosen = [r for r in records if all(_holds(c, r, kinds) for c in self.conditions)]
        if self.order_by is not None:
            key = self.order_by
            # Salesforce sorts nulls first ascending; Id breaks ties so pages are stable.
            chosen.sort(key=lambda r: (r[key] is not None, _comparable(r[key]), r["Id"]))
            if self.descending:
                chosen.reverse()
        if self.limit is not None:
            chosen = chosen[: self.limit]
        return [{field: r[field] for field in self.fields} for r in chosen]


def parse(text: str) -> Query:
    tokens = _tokenize(text)
    reader = _Reader(tokens, text)
    reader.keyword("SELECT")
    raw_fields = [reader.word()]
    while reader.peek() == ",":
        reader.take()
        raw_fields.append(reader.word())
    reader.keyword("FROM")
    object_name = _object(reader.word())
    kinds = OBJECTS[object_name]
    fields = tuple(_field(f, object_name, text) for f in raw_fields)
    conditions: list[Condition] = []
    if reader.peek_keyword("WHERE"):
        reader.take()
        conditions.append(_condition(reader, object_name, kinds, text))
        while reader.peek_keyword("AND"):
            reader.take()
            conditions.append(_condition(reader, object_name, kinds, text))
    order_by, descending = None, False
    if reader.peek_keyword("ORDER"):
        reader.take()
        reader.keyword("BY")
        order_by = _field(reader.word(), object_name, text)
        if reader.peek_keyword("ASC") or reader.peek_keyword("DESC"):
            descending = reader.take().upper() == "DESC"
    limit = None
    if reader.peek_keyword("LIMIT"):
        reader.take()
        number = reader.take()
        if not number.isdigit():
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{number}'")
        limit = int(number)
    if reader.peek() is not None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{reader.peek()}'")
    return Query(object_name, fields, tuple(conditions), order_by, descending, limit)


def _tokenize(text: str) -> list[str]:
    tokens, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            bad = stripped[position:].split()[0] if stripped[position:].split() else stripped
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{bad}'")
        tokens.append(match.group(match.lastgroup or "word"))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, tokens: list[str], text: str) -> None:
        self._tokens = tokens
        self._at = 0
        self._text = text

    def peek(self) -> str | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def peek_keyword(self, keyword: str) -> bool:
        token = self.peek()
        return token is not None and token.upper() == keyword

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self._at += 1
        return token

    def keyword(self, keyword: str) -> None:
        token = self.take()
        if token.upper() != keyword:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token}'")

    def word(self) -> str:
        token = self.take()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", token) or token.upper() in _KEYWORDS:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token}'")
        return token


def _object(name: str) -> str:
    for known in OBJECTS:
        if known.lower() == name.lower():
            return known
    raise SoqlError(
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name.",
    )


def _field(name: str, object_name: str, text: str) -> str:
    for known in OBJECTS[object_name]:
        if known.lower() == name.lower():
            return known
    column = text.find(name) + 1
    raise SoqlError(
        "INVALID_FIELD",
        f"\n{text}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n"
        f"No such column '{name}' on entity '{object_name}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name.",
    )


def _condition(reader: _Reader, object_name: str, kinds: dict[str, str], text: str) -> Condition:
    field = _field(reader.word(), object_name, text)
    op = reader.take()
    if op.upper() == "IN":
        if reader.take() != "(":
            raise SoqlError("MALFORMED_QUERY", "expecting '(' after IN")
        values = [_string(reader.take())]
        while reader.peek() == ",":
            reader.take()
            values.append(_string(reader.take()))
        if reader.take() != ")":
            raise SoqlError("MALFORMED_QUERY", "expecting ')' to close IN")
        return Condition(field, "IN", tuple(values))
    if op not in ("=", "!=", "<", "<=", ">", ">="):
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op}'")
    value = _literal(reader.take())
    if kinds[field] == "datetime" and not isinstance(value, datetime | None):
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{field}' must be of type dateTime and "
            "should not be enclosed in quotes",
        )
    if isinstance(value, datetime) and kinds[field] != "datetime":
        raise SoqlError("INVALID_FIELD", f"field '{field}' is not a dateTime field")
    if kinds[field] == "date" and not isinstance(value, date | None):
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{field}' must be of type date and should "
            "not be enclosed in quotes",
        )
    if type(value) is date and kinds[field] != "date":
        raise SoqlError("INVALID_FIELD", f"field '{field}' is not a date field")
    return Condition(field, op, value)


def _string(token: str) -> str:
    if not (token.startswith("'") and token.endswith("'") and len(token) >= 2):
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token}'")
    return token[1:-1].replace("\\'", "'")


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return _string(token)
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"-?\d+(?:\.\d+)?", token):
        return float(token)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
        return date.fromisoformat(token)  # a date literal, for a Date field
    if re.fullmatch(r"\d{4}-.*", token):
        return parse_datetime(token)
    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token}'")


def parse_datetime(text: str) -> datetime:
    """A SOQL or JSON datetime: 2024-01-01T00:00:00Z, ...00.000+0000, ...00+00:00."""
    normal = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normal):
        normal = normal[:-2] + ":" + normal[-2:]
    return datetime.fromisoformat(normal).astimezone(UTC)


def _comparable(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", value):
        return parse_datetime(value)
    return value


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _holds(condition: Condition, record: dict[str, Any], kinds: dict[str, str]) -> bool:
    value = record[condition.field]
    if condition.op == "IN":
        return value in condition.value
    if condition.value is None or value is None:
        equal = value is condition.value
        return equal if condition.op == "=" else (not equal if condition.op == "!=" else False)
    if kinds[condition.field] == "datetime":
        value = parse_datetime(value)
    elif kinds[condition.field] == "date":
        value = date.fromisoformat(value)
    return _OPS[condition.op](value, condition.value)
