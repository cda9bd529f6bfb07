"""What a Salesforce run learns of the org before its first data query, and keeps.

Owns `OrgFacts` (the org's case statuses, where and how it keeps CSAT, when that was learned)
and `learn_org` (the requests that learn them: the CSAT object's `describe` and how its answers
are dated, or the Feedback question's Id; `CaseStatus`). They change rarely, so the connector
keeps them in the streams' cursors (`org`) and trusts them for `MAX_AGE`, or until they fail
(a status `CaseStatus` did not list: read it again, once a run): a run that goes on where
another stopped does not ask for them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.salesforce_config import SalesforceConfig
from connectors.salesforce_csat import (
    CsatQuery,
    answer_dating,
    checked_custom_object,
    feedback_question,
    history_object,
)
from connectors.salesforce_records import CaseStatuses, case_statuses_from
from interactions import ConfigError, SourceError

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=24)  # then CaseStatus and the CSAT settings are learned again

Rows = Callable[[str], list[dict[str, Any]]]
Describe = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class OrgFacts:
    statuses: CaseStatuses
    csat: CsatQuery | None
    learned_at: datetime
    asked: tuple[str, ...]  # the settings they answer: other settings, other facts

    def kept(self) -> dict[str, Any]:
        """As kept in a cursor (JSON)."""
        return {
            "for": list(self.asked),
            "learned_at": self.learned_at.isoformat(),
            "statuses": sorted(self.statuses.known),
            "closed": sorted(self.statuses.closed),
            "csat": asdict(self.csat) if self.csat is not None else None,
        }


def settings_asked(config: SalesforceConfig) -> tuple[str, ...]:
    return (
        config.csat_object, config.csat_case_field, config.csat_score_field,
        config.csat_comment_field, config.csat_date_field, config.csat_question,
    )  # fmt: skip


def kept_facts(value: Any, config: SalesforceConfig, now: datetime) -> OrgFacts | None:
    """The facts a cursor keeps, when they answer these settings and are younger than
    `MAX_AGE`; None otherwise (learn them again)."""
    if not isinstance(value, dict) or value.get("for") != list(settings_asked(config)):
        return None
    try:
        learned = datetime.fromisoformat(str(value["learned_at"]))
        statuses = CaseStatuses(
            frozenset(str(s) for s in value["statuses"]),
            frozenset(str(s) for s in value["closed"]),
        )
        csat_kept = value.get("csat")
        csat = (
            CsatQuery(**{**csat_kept, "fields": tuple(csat_kept["fields"])}) if csat_kept else None
        )
    except (KeyError, TypeError, ValueError):
        return None  # facts of another version, or spoilt
    if learned.tzinfo is None or not now - learned < MAX_AGE or not statuses.closed:
        return None
    return OrgFacts(statuses, csat, learned, settings_asked(config))


def learn_org(config: SalesforceConfig, describe: Describe, rows: Rows) -> OrgFacts:
    """Check the CSAT settings against the org and read its case statuses: every settings
    mistake is found before the first data query."""
    csat: CsatQuery | None = None
    if config.csat_object:
        try:
            described = describe(config.csat_object)
        except ConfigError:
            raise ConfigError(
                f"source {config.source!r}: csat_object = {config.csat_object!r} is not an "
                "object of this org (describe found nothing). Set it to the API name of "
                "the CSAT object (e.g. Case_Survey__c) in Setup > Object Manager."
            ) from None
        csat = _dated(config, checked_custom_object(config, described), describe, rows)
    elif config.csat_question:
        csat = feedback_question(config, rows)
    return OrgFacts(case_statuses(config, rows), csat, datetime.now(UTC), settings_asked(config))


def case_statuses(config: SalesforceConfig, rows: Rows) -> CaseStatuses:
    statuses = case_statuses_from(rows("SELECT MasterLabel, ApiName, IsClosed FROM CaseStatus"))
    if not statuses.closed:
        raise SourceError(
            f"{config.source}: CaseStatus lists no closed status, so no case could count "
            "as resolved. Check that the API user may read CaseStatus."
        )
    return statuses


def _dated(config: SalesforceConfig, csat: CsatQuery, describe: Describe, rows: Rows) -> CsatQuery:
    """How the custom object's answers are dated: with `csat_date_field = CreatedDate`, by the
    score's field history when the org tracks it; else a warning when records are written
    before they are answered (docs/salesforce.md "When an answer counts")."""
    if config.csat_date_field.lower() != "createddate":
        return answer_dating(config, csat, set(), has_offers=False)
    try:
        history = describe(history_object(config.csat_object))
    except ConfigError:  # no field history is tracked on the object
        history = {}
    fields = {
        str(f.get("name", "")).lower() for f in history.get("fields") or [] if isinstance(f, dict)
    }
    offers = not fields and bool(
        rows(f"SELECT Id FROM {config.csat_object} WHERE {config.csat_score_field} = null LIMIT 1")
    )
    dated = answer_dating(config, csat, fields, has_offers=offers)
    if dated.note.startswith("WARNING"):
        log.warning("%s: %s", config.source, dated.note)
    return dated
