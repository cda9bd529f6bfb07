"""The one aggregate SOQL form the simulator understands: records counted per day.

Owns `parse_day_counts(text) -> DayCounts | None` and `DayCounts.run(records, time_zone)`.
Accepted, keywords and names case-insensitive as in Salesforce:
`SELECT DAY_ONLY(f) [alias], COUNT(Id) [alias] FROM Object [WHERE …] GROUP BY DAY_ONLY(f)`,
where f is a datetime field, or `convertTimezone(field)`: the moment in the time zone of the
user who queries (without it, DAY_ONLY takes the UTC day). The WHERE clause is the plain
subset of soql.py. Like Salesforce, the answer is one page of `AggregateResult` records, an
item without an alias named `expr0`, `expr1`… in select order, the day as `YYYY-MM-DD`.
Text that is not this form is None (soql.py then parses it, or refuses it).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.salesforce.schema import OBJECTS
from sandbox.salesforce.soql import Query, SoqlError, parse, parse_datetime

_DAY = r"DAY_ONLY\(\s*(?:(?P<{c}>convertTimezone)\(\s*(?P<{f}>\w+)\s*\)|(?P<{p}>\w+))\s*\)"
# A Date field is a day already: `SELECT f [alias], COUNT(Id) [alias] FROM O … GROUP BY f`.
_DATE_FORM = re.compile(
    r"^\s*SELECT\s+(?P<field>\w+)(?:\s+(?P<day_alias>(?!FROM\b)\w+))?\s*,\s*"
    r"COUNT\(\s*Id\s*\)(?:\s+(?P<count_alias>(?!FROM\b)\w+))?"
    r"\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+?))?\s+GROUP\s+BY\s+(?P<gfield>\w+)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_FORM = re.compile(
    r"^\s*SELECT\s+"
    + _DAY.format(c="conv", f="cfield", p="field")
    + r"(?:\s+(?P<day_alias>(?!FROM\b)\w+))?\s*,\s*"
    r"COUNT\(\s*Id\s*\)(?:\s+(?P<count_alias>(?!FROM\b)\w+))?"
    r"\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+?))?\s+GROUP\s+BY\s+"
    + _DAY.format(c="gconv", f="gcfield", p="gfield")
    + r"\s*$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class DayCounts:
    object_name: str
    field: str
    converted: bool  # convertTimezone: the day in the querying user's time zone
    date_only: bool  # a Date field: its value is the day
    day_key: str
    count_key: str
    where: Query  # the records counted: its conditions only

    def run(self, records: list[dict[str, Any]], time_zone: str) -> list[dict[str, Any]]:
        zone = ZoneInfo(time_zone if self.converted else "UTC")
        kept = self.where.run(records)
        days: Counter[str] = Counter()
        for record in kept:
            moment = record[self.field]
            if moment is None:
                continue
            if self.date_only:
                days[str(moment)] += 1
            else:
                days[parse_datetime(moment).astimezone(zone).date().isoformat()] += 1
        return [
            {"attributes": {"type": "AggregateResult"}, self.day_key: day, self.count_key: n}
            for day, n in sorted(days.items())
        ]


def parse_day_counts(text: str) -> DayCounts | None:
    form = _FORM.match(text)
    if form is None:
        return _date_counts(text)
    field, converted = form["cfield"] or form["field"], form["conv"] is not None
    grouped, grouped_converted = form["gcfield"] or form["gfield"], form["gconv"] is not None
    if (grouped.lower(), grouped_converted) != (field.lower(), converted):
        raise SoqlError(
            "MALFORMED_QUERY",
            "field must be grouped or aggregated: the GROUP BY day is not the selected one",
        )
    where = f" WHERE {form['where']}" if form["where"] else ""
    query = parse(f"SELECT Id, {field} FROM {form['object']}{where}")
    name = query.fields[1]
    if OBJECTS[query.object_name][name] != "datetime":
        raise SoqlError("INVALID_TYPE", f"DAY_ONLY of a field that is no datetime: {name}")
    day_key = form["day_alias"] or "expr0"
    count_key = form["count_alias"] or ("expr1" if form["day_alias"] is None else "expr0")
    return DayCounts(query.object_name, name, converted, False, day_key, count_key, query)


def _date_counts(text: str) -> DayCounts | None:
    """The Date-field form, or None (soql.py then parses or refuses the text)."""
    form = _DATE_FORM.match(text)
    if form is None or form["field"].lower() == "id":
        return None
    where = f" WHERE {form['where']}" if form["where"] else ""
    query = parse(f"SELECT Id, {form['field']} FROM {form['object']}{where}")
    name = query.fields[1]
    if form["gfield"].lower() != name.lower():
        raise SoqlError(
            "MALFORMED_QUERY", f"field '{name}' must be grouped or aggregated: GROUP BY it"
        )
    if OBJECTS[query.object_name][name] != "date":
        raise SoqlError("MALFORMED_QUERY", f"field '{name}' can not be grouped in a query call")
    day_key = form["day_alias"] or "expr0"
    count_key = form["count_alias"] or ("expr1" if form["day_alias"] is None else "expr0")
    return DayCounts(query.object_name, name, False, True, day_key, count_key, query)
