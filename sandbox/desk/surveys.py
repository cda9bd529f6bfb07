"""Zendesk's new CSAT on the simulated desk: the survey, its versions, and survey responses
in the shapes of the API reference and the recorded page (tests/fixtures/zendesk).

Owns `CsatSurvey` (one customer-satisfaction survey: its scale, question type, versions and
their JSON), `SurveyResponse` (one survey sent about a ticket, with the customer's answers
as they stand and as they changed) and `ulid` (the ids: 48-bit milliseconds, then
randomness, in Crockford's base32, so ids sort by creation). Knows no HTTP.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sandbox.desk.model import JSON

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EXPIRES = timedelta(days=28)  # `expires_at` is 28 days after the survey is sent
SCALES = (2, 3, 5)  # Zendesk's rating scales (support.zendesk.com article 7689997846554)
EMOJI = ("😡", "🙁", "😐", "🙂", "😍")
REASONS = (
    "The issue took too long to resolve",
    "The issue was not resolved",
    "The information provided was not clear or helpful",
)


def ulid(at: datetime, rng: random.Random) -> str:
    """A ULID made at `at`: sorts after every one made earlier."""
    stamp = int(at.timestamp() * 1000)
    value = (stamp << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def iso_ms(moment: datetime) -> str:
    """The survey API's timestamps: UTC with milliseconds and a trailing Z."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{text[:-3]}Z"


def category(rating: int, scale: int) -> str:
    """Zendesk's `rating_category`: on 1-2, 2 is good; on 1-3, 3; on 1-5, 4 and 5 (article
    7689997846554); the rest is bad."""
    good_from = {2: 2, 3: 3, 5: 4}[scale]
    return "good" if rating >= good_from else "bad"


@dataclass
class CsatSurvey:
    """The account's customer-satisfaction survey, from the switch to new CSAT on."""

    id: str
    scale: int
    emoji: bool
    created_at: datetime
    versions: list[datetime]  # when each version (1, 2, …) was made
    rating_question: str
    reason_question: str
    comment_question: str
    reason_options: list[str]

    @classmethod
    def made(cls, at: datetime, scale: int, emoji: bool, rng: random.Random) -> CsatSurvey:
        if scale not in SCALES:
            raise ValueError(f"survey scale must be one of {SCALES}")
        ids = [ulid(at, rng) for _ in range(4 + len(REASONS))]
        return cls(ids[0], scale, emoji, at, [at], ids[1], ids[2], ids[3], ids[4:])

    @property
    def question_type(self) -> str:
        return "rating_scale_emoji" if self.emoji else "rating_scale_numeric"

    def version_at(self, at: datetime) -> int:
        return sum(1 for made in self.versions if made <= at) or 1

    def to_json(self, version: int) -> JSON:
        """The survey as `GET /api/v2/guide/{locale}/surveys/{id}/{version}` shows it."""
        made = self.versions[min(version, len(self.versions)) - 1]
        options = []
        for rating in range(1, self.scale + 1):
            option: JSON = {
                "follow_up": {"question_id": self.reason_question},
                "label": {"type": "static", "value": f"{rating} of {self.scale}"},
                "rating": rating,
            }
            if self.emoji:
                face = EMOJI[round((rating - 1) * 4 / (self.scale - 1))]
                option["emoji"] = {"type": "static", "value": face}
            options.append(option)
        headline = "How would you rate the support you received?"
        if version > 1:
            headline = f"{headline} (v{version})"
        return {
            "created_at": iso_ms(self.created_at),
            "id": self.id,
            "questions": [
                {
                    "headline": {"type": "static", "value": headline},
                    "id": self.rating_question,
                    "options": options,
                    "sub_type": "customer_satisfaction",
                    "type": self.question_type,
                },
                {
                    "headline": {"type": "static", "value": "Select a reason"},
                    "id": self.reason_question,
                    "options": [
                        {
                            "follow_up": {"question_id": self.comment_question},
                            "id": option_id,
                            "label": {"type": "static", "value": reason},
                        }
                        for option_id, reason in zip(self.reason_options, REASONS, strict=True)
                    ],
                    "type": "closed_ended",
                },
                {
                    "follow_up": None,
                    "headline": {"type": "static", "value": "Anything else to share?"},
                    "id": self.comment_question,
                    "type": "open_ended",
                },
            ],
            "state": "enabled",
            "updated_at": iso_ms(made),
            "version": min(version, len(self.versions)),
        }


@dataclass
class SurveyResponse:
    """One survey sent about a ticket: an offer until the customer rates it."""

    id: str
    ticket_id: int
    responder_id: int
    version: int
    offered_at: datetime
    mirror_id: int  # the id the ticket's `satisfaction_rating` shows once it is answered
    rating: int | None = None
    answered_at: datetime | None = None  # the rating answer's created_at
    changed_at: datetime | None = None  # its updated_at
    comment: str | None = None
    reason: int | None = None  # index into REASONS, for a bad rating
    skipped: bool = False  # sent back with the rating skipped: still no response
    history: list[tuple[datetime, int]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.rating is not None

    def to_json(self, survey: CsatSurvey) -> JSON:
        """The record as `GET /api/v2/guide/survey_responses` lists it (keys as recorded)."""
        answers: list[JSON] = []
        given, changed = self.answered_at, self.changed_at or self.answered_at
        rating_question = {
            "id": survey.rating_question,
            "sub_type": "customer_satisfaction",
            "type": survey.question_type,
        }
        if given is not None and changed is not None:
            if self.rating is not None:
                answers.append(
                    {
                        "created_at": iso_ms(given),
                        "question": rating_question,
                        "rating": self.rating,
                        "rating_category": category(self.rating, survey.scale),
                        "type": "rating_scale",
                        "updated_at": iso_ms(changed),
                    }
                )
            elif self.skipped:
                answers.append(_answer(given, rating_question, "skipped"))
            if self.reason is not None:
                reason = _answer(given, {"id": survey.reason_question, "type": "closed_ended"})
                option = survey.reason_options[self.reason]
                reason["selections"] = [{"option_id": option, "type": "predefined"}]
                answers.append(dict(sorted(reason.items())))
            comment = {"id": survey.comment_question, "type": "open_ended"}
            if self.comment:
                answers.append({**_answer(given, comment), "value": self.comment})
            else:
                answers.append(_answer(given, comment, "skipped"))
        zrn = f"zen:ticket:{self.ticket_id}"
        return {
            "answers": answers,
            "expires_at": iso_ms(self.offered_at + EXPIRES),
            "id": self.id,
            "responder_id": str(self.responder_id),  # a string, as recorded
            "subject_zrns": [zrn],
            "subjects": [{"id": str(self.ticket_id), "type": "ticket", "zrn": zrn}],
            "survey": {"id": survey.id, "state": "enabled", "version": self.version},
        }

    def ticket_view(self, scale: int) -> JSON:
        """The ticket's legacy `satisfaction_rating` under new CSAT: the answer's good/bad
        (research/zendesk-new-csat.md "4. Legacy fields under new CSAT")."""
        if self.rating is None:
            return {"score": "offered"}
        return {
            "comment": self.comment,
            "id": self.mirror_id,
            "reason": REASONS[self.reason] if self.reason is not None else "No reason provided",
            "score": category(self.rating, scale),
        }


def _answer(at: datetime, question: JSON, kind: str | None = None) -> JSON:
    return {
        "created_at": iso_ms(at),
        "question": question,
        "type": kind or question["type"],
        "updated_at": iso_ms(at),
    }
