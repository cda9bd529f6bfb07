"""What happens on the desk, and when: a seeded discrete-event simulation, and the making of
a desk.

Owns `Simulation` (the core and ticket life of sim_core.py and ticket_life.py, plus
satisfaction surveys and ratings and the forced changes of an advance batch) and
`generate_desk` (groups, people, arrivals, leavers, then the simulation run up to shortly
before the desk's clock). `advance_desk` lives in advance.py. Ticket changes are made only
through `create_ticket`/`update_ticket` (tickets.py), which record what the ground truth needs.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sandbox.desk import names
from sandbox.desk.model import RESOLVED, Group, Rating, Ticket, User
from sandbox.desk.people import leave
from sandbox.desk.sim_core import QUIET, UNRESOLVED, Arrival, minutes
from sandbox.desk.state import ADMINS, Desk, DeskSpec
from sandbox.desk.survey_life import SurveyLife, set_up_survey, surveys_on
from sandbox.desk.ticket_life import TicketLife
from sandbox.desk.tickets import SYSTEM_USER, update_ticket

# How long a forced reopen, solve, survey and answer of a rated ticket takes at most.
RESURVEY_TAKES = timedelta(minutes=10)
# How long a forced answer, reopen, solve and new survey takes at most (two 5-minute steps,
# 20 s, and the desk's spacing of events on one ticket).
ANSWER_THEN_OFFER_TAKES = timedelta(minutes=12)


class Simulation(SurveyLife, TicketLife):
    """The simulation of one desk. Kept on the desk so `advance_desk` continues the same life."""

    # ---- satisfaction ------------------------------------------------------------------------

    def do_survey(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status not in RESOLVED or epoch != t.resolve_epoch or t.id in self.rating_of:
            return
        desk = self.desk
        if t.id in self.survey_of:
            return
        if surveys_on(desk, at):  # new CSAT: a survey response (survey_life.py)
            self.offer_survey(at, t)
            self.schedule_survey_answer(at, t)
            return
        at = desk.next_time(t, at)
        rating = Rating(desk.new_rating_id(), t.id, t.requester_id, None, None, "offered", at, at)
        rating.offered_at = at
        desk.ratings[rating.id] = rating
        self.rating_of[t.id] = rating.id
        t.satisfaction = rating.ticket_view()
        update_ticket(
            desk, t, at, SYSTEM_USER, extra=[desk.rating_child("Rule", "offered", None)], via="Rule"
        )
        desk.note("rating_offered", t.id)
        if self.rng.random() < 0.5:
            self.schedule(at + minutes(self.rng.uniform(30, 3000)), "answer", t.id)

    def do_answer(self, at: datetime, t: Ticket, _: int) -> None:
        rating = self.desk.ratings.get(self.rating_of.get(t.id, 0))
        if rating is None or rating.score != "offered":
            return
        self.answer(at, t, rating, "good" if self.rng.random() < 0.8 else "bad")

    def answer(self, at: datetime, t: Ticket, rating: Rating, score: str) -> None:
        """The customer answers (or changes the answer): same rating id, same created_at."""
        desk, rng = self.desk, self.rng
        at = desk.next_time(t, at)
        previous = rating.score
        comment = rng.choice(names.GOOD_COMMENTS if score == "good" else names.BAD_COMMENTS)
        code, reason = names.NO_REASON if score == "good" else rng.choice(names.BAD_REASONS)
        if previous == "offered":
            rating.created_at = at
            rating.assignee_id, rating.group_id = t.assignee_id, t.group_id
        rating.score, rating.updated_at = score, at
        rating.comment, rating.reason_code, rating.reason = comment or None, code, reason
        rating.history.append((at, score))
        t.satisfaction = rating.ticket_view()
        extra = [desk.rating_child("Web form", score, previous)]
        if comment:
            extra.append(
                desk.child_event(
                    "Web form",
                    {
                        "satisfaction_comment": comment,
                        "previous_value": None,
                        "event_type": "Change",
                    },
                )
            )
        update_ticket(desk, t, at, t.requester_id, extra=extra)
        if previous == "offered":
            desk.note(f"rating_{score}", t.id)
            desk.note("rating_answered", t.id)
            if comment:
                desk.note("rating_with_comment", t.id)
            if rng.random() < 0.05:
                self.schedule(at + minutes(rng.uniform(60, 2000)), "change_rating", t.id)
        else:
            desk.note("rating_changed", t.id)
            desk.note(f"rating_changed_{previous}_to_{score}", t.id)

    def do_change_rating(self, at: datetime, t: Ticket, _: int) -> None:
        rating = self.desk.ratings.get(self.rating_of.get(t.id, 0))
        if rating is None or rating.score == "offered":
            return
        if t.id in self.survey_of:
            # Sent a survey under new CSAT since: the ticket's satisfaction is the survey's
            # now, and its legacy rating can no longer be changed (Zendesk's legacy CSAT
            # docs: "You can have only one CSAT option activated at a time").
            return
        new = "bad" if rating.score == "good" else "good"
        self.answer(at, t, rating, new)

    # ---- forced changes of an advance batch ----------------------------------------------------

    def do_force_transfer(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None and t.status in UNRESOLVED:
            self.transfer(at, t, force=True)

    def do_force_solve(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None and t.status in UNRESOLVED:
            self.solve(at, t, t.assignee_id)

    def do_force_reopen(self, at: datetime, t: Ticket, _: int) -> None:
        if t.status == "solved":
            self.do_reopen(at, t, t.resolve_epoch)

    def do_force_rate(self, at: datetime, t: Ticket, _: int) -> None:
        if t.id in self.rating_of or t.id in self.survey_of:
            return
        self.do_survey(at, t, t.resolve_epoch)
        if t.id in self.survey_of:
            self.rate_survey(at + timedelta(seconds=30), t, self._rating())
            return
        rating = self.desk.ratings.get(self.rating_of.get(t.id, 0))
        if rating is not None:
            self.answer(
                at + timedelta(seconds=30), t, rating, self.rng.choice(("good", "good", "bad"))
            )

    def do_force_change_rating(self, at: datetime, t: Ticket, _: int) -> None:
        self.do_change_rating(at, t, 0)

    def do_force_answer_then_offer(self, at: datetime, t: Ticket, _: int) -> None:
        """The customer answers the survey, the ticket is reopened and solved again, and a
        new survey is sent seconds later: the ticket shows `offered` again, and only its
        events (offered → good|bad → offered) tell of the answer."""
        response = self._response(t)
        owner = t.assignee_id
        if response is None or response.answered or response.skipped or owner is None:
            return
        if t.status != "solved":
            return
        self.rate_survey(at, t, self._rating())
        at = update_ticket(
            self.desk, t, at + timedelta(minutes=5), t.requester_id, status="open",
            comment=(t.requester_id, True, self.line(False)), via="Mail",
        )  # fmt: skip
        at = update_ticket(
            self.desk, t, at + timedelta(minutes=5), owner, status="solved",
            comment=(owner, True, self.line(True)),
        )  # fmt: skip
        self.desk.note("reopen", t.id)
        self.desk.note("solved", t.id)
        self.offer_survey(at + timedelta(seconds=20), t)
        self.desk.note("survey_answered_then_offered", t.id)

    def do_force_survey_after_rating(self, at: datetime, t: Ticket, _: int) -> None:
        """A ticket rated under legacy CSAT before the switch is reopened, solved again and
        sent a survey, which the customer answers, all within `RESURVEY_TAKES` of `at`: its
        legacy rating stays as it was, and the ticket's events show good|bad → offered →
        the survey's good|bad."""
        rating = self.desk.ratings.get(self.rating_of.get(t.id, 0))
        owner = t.assignee_id
        if rating is None or rating.score == "offered" or owner is None:
            return
        if t.status != "solved" or t.id in self.survey_of:
            return
        at = update_ticket(
            self.desk, t, at, t.requester_id, status="open",
            comment=(t.requester_id, True, self.line(False)), via="Mail",
        )  # fmt: skip
        at = update_ticket(
            self.desk, t, at + timedelta(minutes=5), owner, status="solved",
            comment=(owner, True, self.line(True)),
        )  # fmt: skip
        self.desk.note("reopen", t.id)
        self.desk.note("solved", t.id)
        response = self.offer_survey(at + timedelta(seconds=20), t)
        self.rate_survey(response.offered_at + timedelta(minutes=1), t, self._rating())
        self.desk.note("survey_after_legacy_rating", t.id)


# ---- building a desk ---------------------------------------------------------------------------


def _people(desk: Desk, sim: Simulation) -> None:
    spec, rng, now = desk.spec, sim.rng, desk.now
    start = now - timedelta(days=spec.days)
    for i in range(spec.groups):
        name = names.GROUP_NAMES[i % len(names.GROUP_NAMES)]
        if i >= len(names.GROUP_NAMES):
            name = f"{name} {i // len(names.GROUP_NAMES) + 1}"
        gid = 360_003_074_836 + i * 1_117
        desk.groups[gid] = Group(gid, name, start - timedelta(days=400))
    group_ids = sorted(desk.groups)
    full_names = [f"{f} {last}" for f in names.FIRST_NAMES for last in names.LAST_NAMES]
    wanted = spec.agents + spec.customers
    chosen = rng.sample(full_names, min(wanted, len(full_names)))
    chosen += rng.choices(full_names, k=wanted - len(chosen))  # big desks: customers share names
    for i in range(spec.agents):
        uid = 361_089_721_035 + i * 7_919
        shared = ADMINS <= i < ADMINS + spec.shared_staff
        # A shared person replaces the name the desk drew, so the draws (and all that follows
        # them) stay those of a desk without shared staff.
        name = names.SHARED_STAFF[i - ADMINS] if shared else chosen[i]
        email = _agent_email(spec, i, name, shared)
        created = start - timedelta(days=rng.uniform(30, 700))
        role = "admin" if i < ADMINS else "agent"
        group = group_ids[i % len(group_ids)]
        desk.users[uid] = User(
            uid, name, email, role, created, created, rng.choice(names.TIME_ZONES), group,
            is_staff=True,
        )  # fmt: skip
        if role == "admin":
            sim.admins.append(uid)
        else:
            sim.staff_by_group.setdefault(group, []).append(uid)
    for i in range(spec.customers):
        uid = 380_000_000_000 + i * 104_729
        name = chosen[spec.agents + i]
        email = f"{name.lower().replace(' ', '.')}.{i}@mail.example"
        created = start - timedelta(days=rng.uniform(0, 900))
        desk.users[uid] = User(uid, name, email, "end-user", created, created, "London")
        sim.customers.append(uid)
        sim.customer_weights.append(rng.paretovariate(3.0))
    # Three agents leave before the end: downgraded, suspended, deleted. They keep their history.
    leavers = [u for u in desk.agents() if u.role == "agent"][-3:]
    for user, fraction in zip(leavers, (0.3, 0.2, 0.4), strict=True):
        user.available_until = (now - timedelta(days=spec.days * fraction)).replace(microsecond=0)


def _agent_email(spec: DeskSpec, index: int, name: str, shared: bool) -> str:
    """The address of the desk's `index`th agent, called `name`, one of the shared people or not.

    The shared people (names.SHARED_STAFF) have one address on the company's domain in every
    desk. A desk that shares staff is one of several desks of one company: its own people get
    the desk's subdomain, because two seeds draw one name for two different agents often
    enough (a quarter of the pairs seed, seed + 1) that a report by person would join them.
    A desk without shared staff keeps the company's domain for everyone, as it always had.
    """
    domain = "Acme-Support.example"
    if spec.shared_staff and not shared:
        domain = f"desk{spec.seed}.{domain}"
    if index == 3:  # mixed case, as people type it
        return f"{name.replace(' ', '.')}@{domain}"
    return f"{name.replace(' ', '.')}@{domain}".lower()


def _leave(desk: Desk) -> None:
    leavers = [u for u in desk.agents() if u.available_until is not None]
    for user, how in zip(leavers, ("downgraded", "suspended", "deleted"), strict=True):
        assert user.available_until is not None
        leave(user, how, user.available_until)
        desk.note(f"agent_{how}", 0)


def _arrival_times(
    rng: random.Random, start: datetime, end: datetime, count: int
) -> list[datetime]:
    """Ticket arrivals: busy on weekday working hours, quiet at night and at weekends."""
    hours: list[datetime] = []
    weights: list[float] = []
    moment = start.replace(minute=0, second=0)
    while moment < end:
        day = 1.0 if moment.weekday() < 5 else 0.35
        hour = 1.0 if 8 <= moment.hour < 18 else (0.45 if 18 <= moment.hour < 22 else 0.12)
        hours.append(moment)
        weights.append(day * hour)
        moment += timedelta(hours=1)
    picked = rng.choices(hours, weights=weights, k=count)
    out = []
    for h in picked:
        at = h + timedelta(seconds=rng.randrange(3600))
        out.append(min(max(at, start), end))
    return sorted(out)


def generate_desk(spec: DeskSpec) -> Desk:
    """A desk with `spec.days` of history ending shortly before `spec.now`, same seed same desk."""
    desk = Desk(spec=spec, now=spec.now.astimezone(UTC).replace(microsecond=0))
    desk.noise.seed(f"noise:{spec.seed}")
    sim = Simulation(desk, random.Random(f"desk:{spec.seed}"))
    desk.sim = sim
    set_up_survey(desk)
    _people(desk, sim)
    start = desk.now - timedelta(days=spec.days)
    times = _arrival_times(sim.rng, start, desk.now - timedelta(minutes=15), spec.tickets)
    requesters = sim.rng.choices(sim.customers, weights=sim.customer_weights, k=spec.tickets)
    sim.add_arrivals([Arrival(at, who) for at, who in zip(times, requesters, strict=True)])
    sim.run_until(desk.now - QUIET)
    _leave(desk)
    desk.sort_events()
    return desk
