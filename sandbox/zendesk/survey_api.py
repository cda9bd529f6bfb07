"""The survey endpoints of the simulated API (new CSAT), as the API reference and the
recorded page describe them (research/zendesk-new-csat.md "1", "2", "4").

    GET /api/v2/guide/survey_responses                 cursor pages of at most 50 (400 past
        that), by id; filter[created_at_start|end] in epoch milliseconds (when the survey
        was sent), filter[subject_zrns]=zen:ticket:1,…, filter[responder_ids]
    GET /api/v2/guide/{locale}/surveys                 the survey once the desk has switched;
        filter[types]=CUSTOMER_SATISFACTION
    GET /api/v2/guide/{locale}/surveys/{id}/{version}  one version (the latest when asked for
        a later one), 404 for an unknown survey

Handlers are routed by endpoints.py. Offers (`answers: []`) are listed like answers.
A page of survey responses has `meta` and no `links` object, as the recorded page of a real
account has: the next page is asked for with `page[after]=<meta.after_cursor>`. A sandbox made
with `survey_links=True` adds `links.next`/`links.prev` as Help Center's generic pagination
describes them.
"""

from __future__ import annotations

from typing import Any

from sandbox.desk.model import JSON
from sandbox.zendesk import pages
from sandbox.zendesk.params import ApiError, Params, int_param, one_param
from sandbox.zendesk.served import Served

PAGE_MAX_SURVEYS = 50
RESPONSES = "/api/v2/guide/survey_responses"


def _size(params: Params) -> int:
    size = int_param(params, "page[size]", PAGE_MAX_SURVEYS) or PAGE_MAX_SURVEYS
    if not 1 <= size <= PAGE_MAX_SURVEYS:
        wanted = f"page[size] must be between 1 and {PAGE_MAX_SURVEYS}"
        raise ApiError(400, "InvalidPaginationParameter", wanted)
    return size


def _tickets(params: Params) -> set[int] | None:
    raw = one_param(params, "filter[subject_zrns]")
    if raw is None:
        return None
    tickets = set()
    for zrn in filter(None, raw.split(",")):
        kind, _, number = zrn.strip().rpartition(":")
        if kind != "zen:ticket" or not number.isdigit():
            raise ApiError(400, "InvalidValue", f"filter[subject_zrns]: {zrn!r} is not a zrn")
        tickets.add(int(number))
    return tickets


def survey_responses(sb: Served, params: Params) -> JSON:
    desk, survey = sb.desk, sb.desk.survey
    size = _size(params)
    start = int_param(params, "filter[created_at_start]")
    end = int_param(params, "filter[created_at_end]")
    tickets = _tickets(params)
    responders = one_param(params, "filter[responder_ids]")
    who = {int(r) for r in responders.split(",") if r.strip().isdigit()} if responders else None
    order = one_param(params, "sort") or "id"
    if order not in ("id", "-id"):
        raise ApiError(400, "InvalidValue", 'sort must be "id" or "-id"')
    if one_param(params, "page[before]"):
        raise ApiError(400, "InvalidPaginationParameter", "page[before] is not supported here")

    def sent_ms(response: Any) -> int:
        return int(response.offered_at.timestamp() * 1000)

    chosen = sorted(
        (
            r
            for r in desk.survey_responses.values()
            if (start is None or sent_ms(r) >= start)
            and (end is None or sent_ms(r) <= end)
            and (tickets is None or r.ticket_id in tickets)
            and (who is None or r.responder_id in who)
        ),
        key=lambda r: r.id,
        reverse=order == "-id",
    )
    after = one_param(params, "page[after]")
    if after is not None:
        chosen = [r for r in chosen if (r.id < after if order == "-id" else r.id > after)]
    chunk, more = chosen[:size], len(chosen) > size
    keep = {
        "filter[created_at_start]": start,
        "filter[created_at_end]": end,
        "filter[subject_zrns]": one_param(params, "filter[subject_zrns]"),
        "filter[responder_ids]": responders,
        "sort": one_param(params, "sort"),
        "page[size]": size,
    }
    first, last = (chunk[0].id, chunk[-1].id) if chunk else (None, None)
    assert survey is not None or not chunk
    page: JSON = {
        "meta": {"after_cursor": last, "before_cursor": first, "has_more": more},
        "survey_responses": [r.to_json(survey) for r in chunk] if survey else [],
    }
    if sb.survey_links:
        following = {**keep, "page[after]": last}
        page["links"] = {
            "next": pages.url(sb.base_url, RESPONSES, following) if more else None,
            "prev": None,
        }
    return page


def surveys(sb: Served, params: Params, locale: str) -> JSON:
    types = one_param(params, "filter[types]")
    if types is not None and not {t.strip() for t in types.split(",")} & {"CUSTOMER_SATISFACTION"}:
        listed: list[JSON] = []
    else:
        survey = sb.desk.survey
        live = survey is not None and sb.desk.now >= survey.created_at
        listed = [survey.to_json(survey.version_at(sb.desk.now))] if survey and live else []
    cursor = pages.cbp_cursor((len(listed),))
    return {
        "meta": {"after_cursor": cursor, "before_cursor": cursor, "has_more": False},
        "surveys": listed,
    }


def survey(sb: Served, params: Params, locale: str, survey_id: str, version: str) -> JSON:
    found = sb.desk.survey
    if found is None or found.id != survey_id or int(version) < 1:
        raise ApiError(404, "NotFound", "The survey could not be found")
    return {"survey": found.to_json(int(version))}
