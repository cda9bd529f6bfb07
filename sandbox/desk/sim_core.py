"""The core of the seeded desk simulation: its event queue, its people and ticket arrivals.

Owns `SimulationCore` (scheduling and running actions in time order, picking available
agents, the arrival list with repeat contacts bound to it, and creating arriving tickets),
the `Arrival` and `Action` records and the constants the rest of the simulation shares.
Ticket life is added in ticket_life.py, satisfaction and the full `Simulation` in simulate.py.
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.desk import names
from sandbox.desk.state import Desk
from sandbox.desk.tickets import create_ticket

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


def minutes(value: float) -> timedelta:
    return timedelta(seconds=int(value * 60))


class SimulationCore:
    """The event queue, people and arrivals of one desk; `Simulation` builds on it."""

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
        self.survey_of: dict[int, str] = {}  # ticket id -> survey response id (new CSAT)
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
        create_ticket(
            desk,
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
            self.schedule(at + minutes(rng.uniform(5, 240)), "delete", ticket_id)
            return
        if rng.random() < 0.006:
            self.schedule(at + timedelta(days=rng.uniform(0.5, 6)), "delete", ticket_id)
        if assigned:
            desk.note("created_assigned", ticket_id)
            self.schedule(at + minutes(rng.lognormvariate(3.5, 1.2)), "work", ticket_id)
        elif r < 0.18:
            self.schedule(at + minutes(rng.uniform(20, 1440)), "solve_unowned", ticket_id)
        elif r < 0.20:
            pass  # never touched: sits in its group
        elif r < 0.24:
            self.schedule(at + minutes(rng.lognormvariate(3.5, 1.0)), "take_solve", ticket_id)
        else:
            self.schedule(at + minutes(rng.lognormvariate(3.8, 1.3)), "assign", ticket_id)
