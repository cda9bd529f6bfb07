"""Ids served in their 15-character form: `SalesforceSandbox.short_ids`.

Salesforce keeps one Id per record and shows it in two forms: 15 characters, case-sensitive,
and 18 with a case-safe suffix. The REST API sends the 18; an integration, a report export or
a formula field may pass on the 15. Owns `with_short_ids`: an answer already made (REST JSON or
Bulk CSV) with every Id in the records of the named objects cut to 15 characters. Only values
whose last three characters are their suffix are cut, so no other text is touched.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sandbox.salesforce.ids import case_safe_suffix

Reply = tuple[int, bytes, str, dict[str, str]]


def with_short_ids(reply: Reply, objects: set[str], bulk_object: str | None) -> Reply:
    """`reply` with the Ids in records of `objects` cut (`bulk_object`: the object a Bulk
    result page is of, None for any other answer)."""
    status, payload, content_type, headers = reply
    if status != 200:
        return reply
    if "csv" in content_type and bulk_object in objects:
        return status, _csv_shortened(payload), content_type, headers
    if "json" in content_type and b'"records"' in payload:
        page = json.loads(payload)
        for record in page.get("records") or []:
            if (record.get("attributes") or {}).get("type") in objects:
                record.update({k: _short(v) for k, v in record.items()})
        return status, json.dumps(page).encode(), content_type, headers
    return reply


def _short(value: Any) -> Any:
    if (
        isinstance(value, str)
        and len(value) == 18
        and value.isalnum()
        and case_safe_suffix(value[:15]) == value[15:]
    ):
        return value[:15]
    return value


def _csv_shortened(payload: bytes) -> bytes:
    rows = csv.reader(io.StringIO(payload.decode()))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in rows:
        writer.writerow([_short(cell) for cell in row])
    return out.getvalue().encode()
