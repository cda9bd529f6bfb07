"""The desk's records (users, groups, tickets, ratings) and their Zendesk JSON shapes.

Owns the mutable state objects and how each renders as the Zendesk Support API renders it
(keys as in the recorded samples in tests/fixtures/zendesk). Knows no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

RESOLVED = frozenset({"solved", "closed"})
BRAND_ID = 360000358316
TICKET_FORM_ID = 360000084116
ORGANIZATION_ID = 361002214913
# One default custom status per status category, as on an account with custom statuses on.
CUSTOM_STATUS_IDS = {
    "new": 4044376,
    "open": 4044396,
    "pending": 4044416,
    "hold": 4044436,
    "solved": 4044456,
    "closed": 4044456,
    "deleted": 4044456,
}


def iso(moment: datetime) -> str:
    """Zendesk's timestamp format: UTC, whole seconds, trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() // 60)


@dataclass
class User:
    id: int
    name: str
    email: str
    role: str  # "agent" | "admin" | "end-user"
    created_at: datetime
    updated_at: datetime
    time_zone: str
    default_group_id: int | None = None
    active: bool = True
    suspended: bool = False
    is_staff: bool = False  # was an agent or admin at some point (owns history)
    available_until: datetime | None = None  # leaves the team then (desk/people.py)
    erased: bool = False  # permanently deleted: no endpoint answers them; their history stays

    def to_json(self, base_url: str) -> JSON:
        return {
            "id": self.id,
            "url": f"{base_url}/api/v2/users/{self.id}.json",
            "name": self.name,
            "email": self.email,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "time_zone": self.time_zone,
            "iana_time_zone": "UTC",
            "phone": None,
            "shared_phone_number": None,
            "photo": None,
            "locale_id": 1,
            "locale": "en-US",
            "organization_id": None if self.is_staff else ORGANIZATION_ID,
            "role": self.role,
            "verified": True,
            "external_id": None,
            "tags": [],
            "alias": "",
            "active": self.active,
            "shared": False,
            "shared_agent": False,
            "last_login_at": iso(self.updated_at),
            "two_factor_auth_enabled": None,
            "signature": "",
            "details": "",
            "notes": "",
            "role_type": None if self.role == "end-user" else 0,
            "custom_role_id": None,
            "moderator": self.role != "end-user",
            "ticket_restriction": None if self.role != "end-user" else "requested",
            "only_private_comments": False,
            "restricted_agent": False,
            "suspended": self.suspended,
            "default_group_id": self.default_group_id,
            "report_csv": self.role == "admin",
            "user_fields": {},
        }


@dataclass
class Group:
    id: int
    name: str
    created_at: datetime

    def to_json(self, base_url: str) -> JSON:
        return {
            "url": f"{base_url}/api/v2/groups/{self.id}.json",
            "id": self.id,
            "is_public": True,
            "name": self.name,
            "description": "",
            "default": False,
            "deleted": False,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


@dataclass(frozen=True)
class Step:
    """One update of a ticket as the ground truth sees it: owner and status before and after."""

    at: datetime
    owner_before: int | None
    owner_after: int | None
    status_before: str
    status_after: str


@dataclass
class Metrics:
    """What Zendesk keeps in a ticket's metric set, maintained update by update."""

    reopens: int = 0
    replies: int = 0
    assignees: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    initially_assigned_at: datetime | None = None
    assigned_at: datetime | None = None
    assignee_updated_at: datetime | None = None
    requester_updated_at: datetime | None = None
    status_updated_at: datetime | None = None
    latest_comment_added_at: datetime | None = None
    first_reply_at: datetime | None = None
    first_solved_at: datetime | None = None
    solved_at: datetime | None = None
    hold_since: datetime | None = None
    on_hold_minutes: int = 0


@dataclass
class Ticket:
    id: int
    requester_id: int
    submitter_id: int
    created_at: datetime
    subject: str
    description: str
    channel: str
    group_id: int | None
    assignee_id: int | None
    status: str
    priority: str | None
    ticket_type: str | None
    tags: list[str]
    updated_at: datetime
    generated_timestamp: int
    satisfaction: JSON | None = None
    history: list[Step] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    resolve_epoch: int = 0  # bumped by every resolution and reopen; stale schedules check it

    @property
    def deleted(self) -> bool:
        return self.status == "deleted"

    @property
    def last_at(self) -> datetime:
        return self.updated_at

    def to_json(self, base_url: str, with_metric_set: bool = False) -> JSON:
        body: JSON = {
            "url": f"{base_url}/api/v2/tickets/{self.id}.json",
            "id": self.id,
            "external_id": None,
            "via": {"channel": self.channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "generated_timestamp": self.generated_timestamp,
            "type": self.ticket_type,
            "subject": "SCRUBBED" if self.deleted else self.subject,
            "raw_subject": "SCRUBBED" if self.deleted else self.subject,
            "description": "X" if self.deleted else self.description,
            "priority": self.priority,
            "status": self.status,
            "recipient": None,
            "requester_id": self.requester_id,
            "submitter_id": self.submitter_id,
            "assignee_id": self.assignee_id,
            "organization_id": ORGANIZATION_ID,
            "group_id": self.group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(self.tags),
            "custom_fields": [],
            "satisfaction_rating": dict(self.satisfaction) if self.satisfaction else None,
            "sharing_agreement_ids": [],
            "custom_status_id": CUSTOM_STATUS_IDS[self.status],
            "fields": [],
            "followup_ids": [],
            "ticket_form_id": TICKET_FORM_ID,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        if with_metric_set:
            body["metric_set"] = self.metric_set_json(base_url)
        return body

    def metric_set_json(self, base_url: str) -> JSON:
        m = self.metrics
        metric_id = 9_500_000_000_000 + self.id
        first_res = _minutes(self.created_at, m.first_solved_at)
        full_res = _minutes(self.created_at, m.solved_at) if self.status in RESOLVED else None
        reply = _minutes(self.created_at, m.first_reply_at)
        return {
            "url": f"{base_url}/api/v2/ticket_metrics/{metric_id}.json",
            "id": metric_id,
            "ticket_id": self.id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "group_stations": len(m.groups),
            "assignee_stations": len(m.assignees),
            "reopens": m.reopens,
            "replies": m.replies,
            "assignee_updated_at": iso(m.assignee_updated_at) if m.assignee_updated_at else None,
            "requester_updated_at": iso(m.requester_updated_at or self.created_at),
            "status_updated_at": iso(m.status_updated_at or self.created_at),
            "initially_assigned_at": _iso_or_none(m.initially_assigned_at),
            "assigned_at": _iso_or_none(m.assigned_at),
            "solved_at": _iso_or_none(m.solved_at),
            "latest_comment_added_at": iso(m.latest_comment_added_at or self.created_at),
            "custom_status_updated_at": iso(m.status_updated_at or self.created_at),
            "reply_time_in_minutes": {"calendar": reply, "business": reply},
            "first_resolution_time_in_minutes": {"calendar": first_res, "business": first_res},
            "full_resolution_time_in_minutes": {"calendar": full_res, "business": full_res},
            "agent_wait_time_in_minutes": {"calendar": 0, "business": 0},
            "requester_wait_time_in_minutes": {"calendar": full_res, "business": full_res},
            "on_hold_time_in_minutes": {
                "calendar": m.on_hold_minutes,
                "business": m.on_hold_minutes,
            },
        }


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


@dataclass
class Rating:
    id: int
    ticket_id: int
    requester_id: int
    assignee_id: int | None
    group_id: int | None
    score: str  # "offered" | "good" | "bad"
    created_at: datetime
    updated_at: datetime
    comment: str | None = None
    reason_code: int = 0
    reason: str = "No reason provided"
    history: list[tuple[datetime, str]] = field(default_factory=list)  # (answer time, score)
    offered_at: datetime | None = None  # when the survey was sent (created_at: first answer)

    @property
    def record_created_at(self) -> datetime:
        """`created_at` as Zendesk keeps the record: a changed rating is re-dated to its
        latest change (research/zendesk-api.md, 2026-12-06), so only the ticket's events
        keep the first answer. `created_at` itself stays the first answer: the truth's."""
        return self.updated_at if len(self.history) > 1 else self.created_at

    def to_json(self, base_url: str) -> JSON:
        return {
            "url": f"{base_url}/api/v2/satisfaction_ratings/{self.id}.json",
            "id": self.id,
            "assignee_id": self.assignee_id,
            "group_id": self.group_id,
            "requester_id": self.requester_id,
            "ticket_id": self.ticket_id,
            "score": self.score,
            "created_at": iso(self.record_created_at),
            "updated_at": iso(self.updated_at),
            "comment": self.comment,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "reason_id": None if self.reason_code == 0 else 7_100_000_000_000 + self.reason_code,
        }

    def ticket_view(self) -> JSON:
        """The ticket's `satisfaction_rating` field for this rating."""
        if self.score == "offered":
            return {"score": "offered"}
        return {"score": self.score, "id": self.id, "comment": self.comment, "reason": self.reason}
