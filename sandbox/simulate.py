"""What happens on the desk, and when: a seeded discrete-event simulation.

Owns the people and ticket arrivals of a generated desk (`run_generation`), the life of each
ticket (assignment, transfers, pending/hold, solve, reopen, close, survey, rating, deletion)
and the batches of `Desk.advance` (`advance_desk`). Ticket changes are made only through
`Desk.create_ticket`/`Desk.update_ticket`, which record what the ground truth needs.
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox import names
from sandbox.desk import SYSTEM_USER, Desk
from sandbox.model import RESOLVED, Group, Rating, Ticket, User, iso

UNRESOLVED = frozenset({"new", "open", "pending", "hold"})
# How far before the clock simulated history stops: Zendesk's exports leave out the last minute.
QUIET = timedelta(minutes=2)


@dataclass
class Arrival:
    at: datetime
    requester: int
    spam: bool = False
    bound: bool = False  # requester chosen to make a repeat contact


@dataclass(order=True)
class Action:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    ticket_id: int = field(compare=False)
    epoch: int = field(compare=False, default=-1)


def _minutes(value: float) -> timedelta:
    return timedelta(seconds=int(value * 60))


class Simulation:
    """The event queue of one desk. Kept on the desk so `advance` continues the same life."""

    def __init__(self, desk: Desk, rng: random.Random) -> None:
        self.desk = desk
        self.rng = rng
        self.heap: list[Action] = []
        self.seq = 0
        self.arrivals: list[Arrival] = []
        self.next_arrival = 0
        self.next_ticket_id = 1
        self.transfers: dict[int, int] = {}
        self.rating_of: dict[int, int] = {}  # ticket id -> rating id
        self.staff_by_group: dict[int, list[int]] = {}
        self.admins: list[int] = []
        self.customers: list[int] = []
        self.customer_weights: list[float] = []

    # ---- queue -----------------------------------------------------------------------------

    def schedule(self, at: datetime, kind: str, ticket_id: int, epoch: int = -1) -> None:
        self.seq += 1
        heapq.heappush(
            self.heap, Action(at.replace(microsecond=0), self.seq, kind, ticket_id, epoch)
        )

    def run_until(self, end: datetime) -> None:
        while self.heap and self.heap[0].at <= end:
            action = heapq.heappop(self.heap)
            if action.kind == "arrive":
                self.do_arrive(action.at, action.ticket_id)
                continue
            ticket = self.desk.tickets.get(action.ticket_id)
            if ticket is None or ticket.deleted:
                continue
            getattr(self, f"do_{action.kind}")(action.at, ticket, action.epoch)

    # ---- people ----------------------------------------------------------------------------

    def available(self, user_id: int, at: datetime) -> bool:
        until = self.desk.users[user_id].available_until
        return until is None or at < until

    def pick_agent(
        self, group: int | None, at: datetime, exclude: tuple[int | None, ...] = ()
    ) -> int:
        pool = [
            a
            for a in self.staff_by_group.get(group or 0, [])
            if a not in exclude and self.available(a, at)
        ]
        if not pool:
            pool = [
                u.id for u in self.desk.agents() if u.id not in exclude and self.available(u.id, at)
            ]
        return self.rng.choice(pool)

    def group_of(self, agent: int) -> int | None:
        return self.desk.users[agent].default_group_id

    # ---- arrivals ----------------------------------------------------------------------------

    def postpone_until(self, moment: datetime) -> None:
        """Move what is still pending at or before `moment` to just after it.

        The generator stops short of its clock and leaves actions pending; run later they
        must happen after the clock, never back in time before changes a client has read.
        """
        for offset, arrival in enumerate(self.arrivals[self.next_arrival :], start=1):
            if arrival.at <= moment:
                arrival.at = moment + timedelta(seconds=offset)
        late = [a for a in self.heap if a.at <= moment]
        self.heap = [a for a in self.heap if a.at > moment]
        for offset, action in enumerate(sorted(late), start=1):
            action.at = moment + timedelta(seconds=offset)
            self.heap.append(action)
        heapq.heapify(self.heap)

    def add_arrivals(self, arrivals: list[Arrival]) -> None:
        tail = self.arrivals[self.next_arrival :] + arrivals
        tail.sort(key=lambda a: a.at)
        self.arrivals[self.next_arrival :] = tail
        # Arrival actions carry an index into the list: rebuild them for the re-sorted tail.
        self.heap = [a for a in self.heap if a.kind != "arrive"]
        heapq.heapify(self.heap)
        for i in range(self.next_arrival, len(self.arrivals)):
            self.schedule(self.arrivals[i].at, "arrive", i)

    def bind_repeat(self, requester: int, lo: datetime, hi: datetime, spam: bool = False) -> bool:
        """Make a future arrival in (lo, hi] a contact of `requester`: a repeat contact."""
        times = [a.at for a in self.arrivals]
        first = max(bisect.bisect_right(times, lo), self.next_arrival)
        last = bisect.bisect_right(times, hi)
        free = [i for i in range(first, last) if not self.arrivals[i].bound]
        if not free:
            return False
        chosen = self.arrivals[self.rng.choice(free)]
        chosen.requester, chosen.bound, chosen.spam = requester, True, spam
        return True

    def do_arrive(self, at: datetime, index: int) -> None:
        self.next_arrival = index + 1
        arrival = self.arrivals[index]
        rng, desk = self.rng, self.desk
        group = rng.choice(sorted(desk.groups))
        ticket_id = self.next_ticket_id
        self.next_ticket_id += 1
        r = rng.random()
        assigned = not arrival.spam and r < 0.15
        assignee = self.pick_agent(group, at) if assigned else None
        if assignee is not None:
            group = self.group_of(assignee) or group
        channel = "voice" if assigned else rng.choice(("web", "web", "email", "email", "api"))
        desk.create_ticket(
            ticket_id,
            at,
            arrival.requester,
            group,
            assignee,
            rng.choice(names.SUBJECTS),
            channel,
            rng.choice((None, "normal", "normal", "low", "high")),
            rng.sample(names.TAGS, rng.randint(0, 2)),
        )
        desk.note("ticket_created", ticket_id)
        if arrival.spam:
            desk.note("spam_ticket", ticket_id)
            self.schedule(at + _minutes(rng.uniform(5, 240)), "delete", ticket_id)
            return
        if rng.random() < 0.006:
            self.schedule(at + timedelta(days=rng.uniform(0.5, 6)), "delete", ticket_id)
        if assigned:
            desk.note("created_assigned", ticket_id)
            self.schedule(at + _minutes(rng.lognormvariate(3.5, 1.2)), "work", ticket_id)
        elif r < 0.18:
            self.schedule(at + _minutes(rng.uniform(20, 1440)), "solve_unowned", ticket_id)
        elif r < 0.20:
            pass  # never touched: sits in its group
        elif r < 0.24:
            self.schedule(at + _minutes(rng.lognormvariate(3.5, 1.0)), "take_solve", ticket_id)
        else:
            self.schedule(at + _minutes(rng.lognormvariate(3.8, 1.3)), "assign", ticket_id)

    # ---- ticket life -------------------------------------------------------------------------

    def line(self, agent: bool) -> str:
        return self.rng.choice(names.AGENT_LINES if agent else names.CUSTOMER_LINES)

    def next_work(self, at: datetime, ticket: Ticket) -> None:
        self.schedule(at + _minutes(self.rng.lognormvariate(5.0, 1.3)), "work", ticket.id)

    def do_assign(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None or t.status not in UNRESOLVED:
            return
        agent = self.pick_agent(t.group_id, at)
        status = "open" if t.status == "new" else t.status
        at = self.desk.update_ticket(t, at, agent, assignee=agent, status=status)
        self.desk.note("first_assignment_from_group", t.id)
        self.next_work(at, t)

    def do_take_solve(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None or t.status not in UNRESOLVED:
            return
        agent = self.pick_agent(t.group_id, at)
        at = self.desk.update_ticket(
            t, at, agent, assignee=agent, status="solved", comment=(agent, True, self.line(True))
        )
        self.desk.note("take_and_solve_from_group", t.id)
        self.after_solve(at, t)

    def do_solve_unowned(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None or t.status not in UNRESOLVED:
            return
        admin = self.rng.choice(self.admins)
        at = self.desk.update_ticket(
            t, at, admin, status="solved", comment=(admin, True, self.line(True)), via="Web service"
        )
        self.desk.note("solved_never_assigned", t.id)
        self.after_solve(at, t)

    def transfer(self, at: datetime, t: Ticket, force: bool = False) -> None:
        """Pass an owned open ticket on: to another agent, or back to a group."""
        rng, desk, owner = self.rng, self.desk, t.assignee_id
        assert owner is not None
        self.transfers[t.id] = self.transfers.get(t.id, 0) + 1
        kind = rng.random()
        if kind < 0.12 and not force:
            other = self.pick_agent(t.group_id, at, exclude=(owner,))
            at = desk.update_ticket(
                t,
                at,
                other,
                assignee=other,
                status="solved",
                comment=(other, True, self.line(True)),
            )
            desk.note("take_and_solve", t.id)
            desk.note("reassigned", t.id)
            self.after_solve(at, t)
        elif kind < 0.65:
            cross = rng.random() < 0.3
            group = rng.choice(sorted(desk.groups)) if cross else t.group_id
            other = self.pick_agent(group, at, exclude=(owner,))
            at = desk.update_ticket(
                t, at, owner, assignee=other, group=self.group_of(other) if cross else t.group_id,
                comment=(owner, False, "Passing this on."),
            )  # fmt: skip
            desk.note("transfer_agent_to_agent", t.id)
            desk.note("reassigned", t.id)
            self.next_work(at, t)
        else:
            group = rng.choice(sorted(desk.groups))
            at = desk.update_ticket(
                t,
                at,
                owner,
                assignee=None,
                group=group,
                comment=(owner, False, "Back to the queue."),
            )
            desk.note("transfer_to_group", t.id)
            desk.note("reassigned", t.id)
            self.schedule(at + _minutes(rng.lognormvariate(3.5, 1.2)), "assign", t.id)

    def do_work(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is None or t.status not in ("open", "new"):
            return
        rng, desk, owner = self.rng, self.desk, t.assignee_id
        if not self.available(owner, at):
            other = self.pick_agent(t.group_id, at, exclude=(owner,))
            at = desk.update_ticket(t, at, SYSTEM_USER, assignee=other, via="Rule")
            desk.note("transfer_agent_departed", t.id)
            desk.note("reassigned", t.id)
            self.next_work(at, t)
            return
        p_transfer = 0.16 if self.transfers.get(t.id, 0) == 0 else 0.06
        r = rng.random()
        if r < p_transfer:
            self.transfer(at, t)
        elif r < p_transfer + 0.17:
            at = desk.update_ticket(
                t, at, owner, status="pending", comment=(owner, True, self.line(True))
            )
            desk.note("pending", t.id)
            self.schedule(at + _minutes(rng.lognormvariate(6.0, 1.2)), "customer_reply", t.id)
        elif r < p_transfer + 0.21:
            at = desk.update_ticket(
                t, at, owner, status="hold", comment=(owner, False, "Waiting on engineering.")
            )
            desk.note("hold", t.id)
            self.schedule(at + _minutes(rng.lognormvariate(6.5, 1.0)), "resume", t.id)
        elif r < p_transfer + 0.28:
            desk.update_ticket(t, at, owner, comment=(owner, rng.random() < 0.5, self.line(True)))
            desk.note("comment_only_update", t.id)
            self.next_work(at, t)
        else:
            self.solve(at, t, owner)

    def solve(self, at: datetime, t: Ticket, agent: int) -> None:
        at = self.desk.update_ticket(
            t, at, agent, status="solved", comment=(agent, True, self.line(True))
        )
        self.after_solve(at, t)

    def after_solve(self, at: datetime, t: Ticket) -> None:
        rng, epoch = self.rng, t.resolve_epoch
        self.desk.note("solved", t.id)
        self.schedule(at + timedelta(days=4), "close", t.id, epoch)
        if rng.random() < 0.62:
            self.schedule(at + timedelta(hours=rng.uniform(20, 28)), "survey", t.id, epoch)
        r = rng.random()
        if r < 0.09:
            self.schedule(at + _minutes(rng.uniform(60, 4000)), "reopen", t.id, epoch)
        elif r < 0.105:
            self.schedule(at + _minutes(rng.uniform(30, 1200)), "reassign_solved", t.id, epoch)
        r = rng.random()
        if r < 0.008:
            if self.bind_repeat(t.requester_id, at, at + timedelta(hours=70), spam=True):
                self.desk.note("deleted_repeat_contact", t.id)
        elif r < 0.10:
            if self.bind_repeat(t.requester_id, at, at + timedelta(hours=71)):
                self.desk.note("repeat_within_window", t.id)
        elif r < 0.14 and self.bind_repeat(
            t.requester_id, at + timedelta(hours=73), at + timedelta(days=9)
        ):
            self.desk.note("repeat_after_window", t.id)

    def do_customer_reply(self, at: datetime, t: Ticket, _: int) -> None:
        if t.status != "pending":
            return
        at = self.desk.update_ticket(
            t, at, t.requester_id, status="open", comment=(t.requester_id, True, self.line(False)),
            via="Mail",
        )  # fmt: skip
        self.next_work(at, t)

    def do_resume(self, at: datetime, t: Ticket, _: int) -> None:
        if t.status != "hold" or t.assignee_id is None:
            return
        at = self.desk.update_ticket(t, at, t.assignee_id, status="open")
        self.next_work(at, t)

    def do_close(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status == "solved" and epoch == t.resolve_epoch:
            self.desk.update_ticket(t, at, SYSTEM_USER, status="closed", via="Rule")
            self.desk.note("closed", t.id)

    def do_reopen(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status != "solved" or epoch != t.resolve_epoch:
            return
        desk, owner = self.desk, t.assignee_id
        if owner is not None and self.rng.random() < 0.35:
            other = self.pick_agent(t.group_id, at, exclude=(owner,))
            at = desk.update_ticket(
                t, at, t.requester_id, assignee=other, status="open",
                comment=(t.requester_id, True, self.line(False)), via="Mail",
            )  # fmt: skip
            desk.note("reopen_and_handoff", t.id)
        else:
            at = desk.update_ticket(
                t, at, t.requester_id, status="open",
                comment=(t.requester_id, True, self.line(False)), via="Mail",
            )  # fmt: skip
        desk.note("reopen", t.id)
        if t.assignee_id is None:
            self.schedule(at + _minutes(30), "assign", t.id)
        else:
            self.next_work(at, t)

    def do_reassign_solved(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status != "solved" or epoch != t.resolve_epoch:
            return
        other = self.pick_agent(t.group_id, at, exclude=(t.assignee_id,))
        self.desk.update_ticket(t, at, other, assignee=other)
        self.desk.note("reassigned_while_solved", t.id)

    def do_delete(self, at: datetime, t: Ticket, _: int) -> None:
        admin = self.rng.choice(self.admins)
        self.desk.update_ticket(t, at, admin, status="deleted", via="Web form")
        self.desk.note("deleted", t.id)

    # ---- satisfaction ------------------------------------------------------------------------

    def do_survey(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status not in RESOLVED or epoch != t.resolve_epoch or t.id in self.rating_of:
            return
        desk = self.desk
        at = desk.next_time(t, at)
        rating = Rating(desk.new_rating_id(), t.id, t.requester_id, None, None, "offered", at, at)
        desk.ratings[rating.id] = rating
        self.rating_of[t.id] = rating.id
        t.satisfaction = rating.ticket_view()
        desk.update_ticket(
            t, at, SYSTEM_USER, extra=[desk.rating_child("Rule", "offered", None)], via="Rule"
        )
        desk.note("rating_offered", t.id)
        if self.rng.random() < 0.5:
            self.schedule(at + _minutes(self.rng.uniform(30, 3000)), "answer", t.id)

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
                desk._child(
                    "Web form",
                    {
                        "satisfaction_comment": comment,
                        "previous_value": None,
                        "event_type": "Change",
                    },
                )
            )
        desk.update_ticket(t, at, t.requester_id, extra=extra)
        if previous == "offered":
            desk.note(f"rating_{score}", t.id)
            desk.note("rating_answered", t.id)
            if comment:
                desk.note("rating_with_comment", t.id)
            if rng.random() < 0.05:
                self.schedule(at + _minutes(rng.uniform(60, 2000)), "change_rating", t.id)
        else:
            desk.note("rating_changed", t.id)
            desk.note(f"rating_changed_{previous}_to_{score}", t.id)

    def do_change_rating(self, at: datetime, t: Ticket, _: int) -> None:
        rating = self.desk.ratings.get(self.rating_of.get(t.id, 0))
        if rating is None or rating.score == "offered":
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
        if t.id in self.rating_of:
            return
        self.do_survey(at, t, t.resolve_epoch)
        rating = self.desk.ratings.get(self.rating_of.get(t.id, 0))
        if rating is not None:
            self.answer(
                at + timedelta(seconds=30), t, rating, self.rng.choice(("good", "good", "bad"))
            )

    def do_force_change_rating(self, at: datetime, t: Ticket, _: int) -> None:
        self.do_change_rating(at, t, 0)


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
        name = chosen[i]
        email = name.lower().replace(" ", ".") + "@acme-support.example"
        if i == 3:
            email = (
                name.replace(" ", ".") + "@Acme-Support.example"
            )  # mixed case, as people type it
        created = start - timedelta(days=rng.uniform(30, 700))
        role = "admin" if i < 2 else "agent"
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


def _leave(desk: Desk) -> None:
    leavers = [u for u in desk.agents() if u.available_until is not None]
    for user, how in zip(leavers, ("downgraded", "suspended", "deleted"), strict=True):
        assert user.available_until is not None
        user.updated_at = user.available_until
        if how == "downgraded":
            user.role = "end-user"
        elif how == "suspended":
            user.suspended = True
        else:
            user.active = False
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


def run_generation(desk: Desk) -> None:
    spec = desk.spec
    sim = Simulation(desk, random.Random(f"desk:{spec.seed}"))
    desk.sim = sim
    _people(desk, sim)
    start = desk.now - timedelta(days=spec.days)
    times = _arrival_times(sim.rng, start, desk.now - timedelta(minutes=15), spec.tickets)
    requesters = sim.rng.choices(sim.customers, weights=sim.customer_weights, k=spec.tickets)
    sim.add_arrivals([Arrival(at, who) for at, who in zip(times, requesters, strict=True)])
    sim.run_until(desk.now - QUIET)
    _leave(desk)
    desk.sort_events()


def advance_desk(desk: Desk, minutes: int, seed: int) -> dict[str, Any]:
    """Move the clock and apply a batch of changes strictly inside the interval."""
    if minutes < 3:
        raise ValueError("advance needs at least 3 minutes (changes stay out of the last minute)")
    sim: Simulation = desk.sim
    old = desk.now
    new_now = old + timedelta(minutes=minutes)
    end = new_now - QUIET
    rng = random.Random(f"advance:{desk.spec.seed}:{seed}:{iso(old)}")
    sim.rng = rng
    sim.postpone_until(old)
    first_event = len(desk.events)
    first_log = len(desk.log)

    def when() -> datetime:
        return old + timedelta(seconds=rng.randint(1, int((end - old).total_seconds())))

    live = sorted(t.id for t in desk.tickets.values() if not t.deleted)
    owned_open = sorted(
        t.id for t in desk.tickets.values() if t.assignee_id and t.status in ("open", "new")
    )
    rng.shuffle(owned_open)
    solved = sorted(t.id for t in desk.tickets.values() if t.status == "solved")
    rng.shuffle(solved)
    for tid in owned_open[:3]:
        sim.schedule(when(), "force_transfer", tid)
    for tid in owned_open[3:6]:
        sim.schedule(when(), "force_solve", tid)
    for tid in solved[:2]:
        sim.schedule(when(), "force_reopen", tid)
    unrated = [t for t in solved[2:] if t not in sim.rating_of]
    for tid in unrated[:2]:
        sim.schedule(when(), "force_rate", tid)
    answered = sorted(
        r.ticket_id
        for r in desk.ratings.values()
        if r.score != "offered" and not desk.tickets[r.ticket_id].deleted
    )
    if answered:
        sim.schedule(when(), "force_change_rating", rng.choice(answered))
    busy = set(owned_open[:6]) | set(solved[:4]) | set(answered)
    deletable = [tid for tid in live if tid not in busy]
    if deletable:
        sim.schedule(when(), "delete", rng.choice(deletable))
    # New tickets, two of them repeat contacts of recently solved tickets.
    lately = old - timedelta(hours=48)
    recent = sorted(
        {
            t.requester_id
            for t in desk.tickets.values()
            if t.status in RESOLVED and t.metrics.solved_at and t.metrics.solved_at > lately
        }
    )
    count = min(3 + minutes // 20, 40)
    arrivals = [
        Arrival(when(), rng.choices(sim.customers, sim.customer_weights)[0]) for _ in range(count)
    ]
    for arrival, requester in zip(arrivals, rng.sample(recent, min(2, len(recent))), strict=False):
        arrival.requester, arrival.bound = requester, True
        desk.note("repeat_within_window", 0)
    sim.add_arrivals(arrivals)
    sim.run_until(end)
    desk.now = new_now
    desk.sort_events()
    return _summary(desk, old, first_event, first_log)


def _summary(desk: Desk, old: datetime, first_event: int, first_log: int) -> dict[str, Any]:
    log = desk.log[first_log:]

    def ids(*kinds: str) -> list[int]:
        return sorted({tid for kind, tid in log if kind in kinds and tid})

    changed_ratings = sorted(
        rid for rid, r in desk.ratings.items() if r.updated_at > old and len(r.history) > 1
    )
    events = [e for e in desk.events if e["timestamp"] > int(old.timestamp())]
    return {
        "since": iso(old),
        "now": iso(desk.now),
        "created": ids("ticket_created"),
        "repeat_contacts": sum(1 for kind, _ in log if kind == "repeat_within_window"),
        "reassigned": ids("reassigned"),
        "solved": ids("solved"),
        "reopened": ids("reopen"),
        "closed": ids("closed"),
        "rated": ids("rating_answered"),
        "rating_changed": changed_ratings,
        "deleted": ids("deleted"),
        "events": len(desk.events) - first_event,
        "touched": sorted({e["ticket_id"] for e in events}),
    }
