"""The new-CSAT part of the simulation: on a desk that switches from legacy to new CSAT
(`DeskSpec.csat_switch_days`), surveys sent after the switch are survey responses.

Owns `set_up_survey` (the survey, made at the switch, and its second version halfway to the
desk's clock) and `SurveyLife`: sending a survey (an offer, `answers: []`), the customer's
rating (first answer), a rating sent back skipped (still an offer), a changed rating, and
the forced versions of these an advance batch schedules (an answer followed by a new survey
on the reopened ticket is in simulate.py: it is ticket life too). Every change to a ticket goes
through `update_ticket` (tickets.py), so the ticket shows the answer's good/bad as its legacy
`satisfaction_rating` and the ticket events carry `satisfaction_score` changes, as Zendesk's
do under new CSAT (research/zendesk-new-csat.md "4").
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sandbox.desk import names
from sandbox.desk.model import RESOLVED, Ticket
from sandbox.desk.sim_core import SimulationCore, minutes
from sandbox.desk.state import Desk
from sandbox.desk.surveys import EXPIRES, REASONS, CsatSurvey, SurveyResponse, category, ulid
from sandbox.desk.tickets import SYSTEM_USER, update_ticket

# How customers rate, by scale: mostly well, as on real desks.
WEIGHTS = {2: (0.25, 0.75), 3: (0.15, 0.15, 0.7), 5: (0.08, 0.07, 0.1, 0.3, 0.45)}


def set_up_survey(desk: Desk) -> None:
    """Make the desk's survey at its switch to new CSAT, if its spec has one."""
    spec = desk.spec
    if spec.csat_switch_days is None:
        return
    switch = (spec.now - timedelta(days=spec.csat_switch_days)).replace(microsecond=0)
    rng = random.Random(f"survey:{spec.seed}")
    survey = CsatSurvey.made(switch, spec.survey_scale, spec.survey_emoji, rng)
    survey.versions.append((switch + (spec.now - switch) / 2).replace(microsecond=0))
    desk.survey = survey


def surveys_on(desk: Desk, at: datetime) -> bool:
    """Whether a survey sent at `at` is a survey response (the desk had switched by then)."""
    return desk.survey is not None and at >= desk.survey.created_at


class SurveyLife(SimulationCore):
    """Survey responses of a switched desk; `Simulation` dispatches its surveys here."""

    def _scale(self) -> int:
        assert self.desk.survey is not None
        return self.desk.survey.scale

    def _rating(self) -> int:
        scale = self._scale()
        return self.rng.choices(range(1, scale + 1), WEIGHTS[scale])[0]

    def _response(self, t: Ticket) -> SurveyResponse | None:
        return self.desk.survey_responses.get(self.survey_of.get(t.id, ""))

    def offer_survey(self, at: datetime, t: Ticket) -> SurveyResponse:
        """Send the survey: a record with no answers, and `offered` on the ticket."""
        desk = self.desk
        assert desk.survey is not None
        at = desk.next_time(t, at)
        sent = at + timedelta(milliseconds=desk.noise.randint(1, 999))
        response = SurveyResponse(
            id=ulid(sent, desk.noise),
            ticket_id=t.id,
            responder_id=t.requester_id,
            version=desk.survey.version_at(sent),
            offered_at=sent,
            mirror_id=desk.new_rating_id(),
        )
        desk.survey_responses[response.id] = response
        self.survey_of[t.id] = response.id
        shown = t.satisfaction.get("score") if t.satisfaction else None
        t.satisfaction = response.ticket_view(desk.survey.scale)
        # A survey sent after an earlier one was answered: the ticket's score goes from that
        # answer back to offered (good → offered), as Zendesk's events show it.
        offered = desk.rating_child("Rule", "offered", shown or "unoffered")
        update_ticket(desk, t, at, SYSTEM_USER, extra=[offered], via="Rule")
        desk.note("survey_offered", t.id)
        return response

    def rate_survey(self, at: datetime, t: Ticket, rating: int) -> None:
        """The customer rates (first answer) or changes the rating (same record, same
        `created_at`, later `updated_at`)."""
        desk, response = self.desk, self._response(t)
        if response is None or response.skipped or at > response.offered_at + EXPIRES:
            return
        at = desk.next_time(t, at)
        moment = at + timedelta(milliseconds=desk.noise.randint(1, 999))
        before = response.ticket_view(self._scale())
        first = response.rating is None
        response.rating = rating
        response.answered_at = response.answered_at or moment
        response.changed_at = moment
        response.history.append((moment, rating))
        bad = category(rating, self._scale()) == "bad"
        if first:
            lines = names.BAD_COMMENTS if bad else names.GOOD_COMMENTS
            response.comment = self.rng.choice(lines) or None
        response.reason = self.rng.randrange(len(REASONS)) if bad else None
        t.satisfaction = after = response.ticket_view(self._scale())
        extra = []
        if after["score"] != before["score"]:
            extra.append(desk.rating_child("Web form", after["score"], before["score"]))
        update_ticket(desk, t, at, t.requester_id, extra=extra)
        if first:
            desk.note("survey_answered", t.id)
            desk.note(f"survey_{after['score']}", t.id)
        else:
            desk.note("survey_changed", t.id)
            desk.note(f"survey_changed_{before['score']}_to_{after['score']}", t.id)

    def schedule_survey_answer(self, at: datetime, t: Ticket) -> None:
        r = self.rng.random()
        if r < 0.5:
            self.schedule(at + minutes(self.rng.uniform(30, 3000)), "answer_survey", t.id)
        elif r < 0.56:
            self.schedule(at + minutes(self.rng.uniform(30, 3000)), "skip_survey", t.id)

    # ---- actions ---------------------------------------------------------------------------

    def do_answer_survey(self, at: datetime, t: Ticket, _: int) -> None:
        response = self._response(t)
        if response is None or response.answered or response.skipped:
            return
        self.rate_survey(at, t, self._rating())
        if self.rng.random() < 0.12:
            self.schedule(at + minutes(self.rng.uniform(60, 2000)), "change_survey", t.id)

    def do_skip_survey(self, at: datetime, t: Ticket, _: int) -> None:
        """Sent back with the rating skipped (perhaps a comment): no response."""
        response = self._response(t)
        if response is None or response.answered or response.skipped:
            return
        at = self.desk.next_time(t, at)
        response.skipped = True
        response.answered_at = at + timedelta(milliseconds=self.desk.noise.randint(1, 999))
        response.comment = self.rng.choice(names.BAD_COMMENTS) or None
        self.desk.note("survey_skipped", t.id)

    def do_change_survey(self, at: datetime, t: Ticket, _: int) -> None:
        response = self._response(t)
        if response is None or response.rating is None:
            return
        others = [r for r in range(1, self._scale() + 1) if r != response.rating]
        self.rate_survey(at, t, self.rng.choice(others))

    def do_force_answer(self, at: datetime, t: Ticket, _: int) -> None:
        response = self._response(t)
        if response is not None and not response.answered and not response.skipped:
            self.rate_survey(at, t, self._rating())

    def do_force_improve(self, at: datetime, t: Ticket, _: int) -> None:
        """A customer changes a bad rating to the best one (bad → good)."""
        response = self._response(t)
        if response is not None and response.rating is not None:
            self.rate_survey(at, t, self._scale())

    def do_force_offer(self, at: datetime, t: Ticket, _: int) -> None:
        if t.status in RESOLVED and t.id not in self.rating_of and t.id not in self.survey_of:
            self.offer_survey(at, t)
