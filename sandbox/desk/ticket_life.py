"""The life of a ticket in the simulation, from first assignment to close or deletion.

Owns `TicketLife`: assignment, work, transfers (agent to agent, back to a group, away from
departed agents), pending/hold and their replies, solving (and what a solve schedules:
close, survey, reopen, repeat contacts), reopening, reassignment while solved and deletion.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.desk import names
from sandbox.desk.model import Ticket
from sandbox.desk.sim_core import UNRESOLVED, SimulationCore, minutes
from sandbox.desk.tickets import SYSTEM_USER, update_ticket


class TicketLife(SimulationCore):
    """What happens to a ticket once it exists; satisfaction is added in simulate.py."""

    def line(self, agent: bool) -> str:
        return self.rng.choice(names.AGENT_LINES if agent else names.CUSTOMER_LINES)

    def next_work(self, at: datetime, ticket: Ticket) -> None:
        self.schedule(at + minutes(self.rng.lognormvariate(5.0, 1.3)), "work", ticket.id)

    def do_assign(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None or t.status not in UNRESOLVED:
            return
        agent = self.pick_agent(t.group_id, at)
        status = "open" if t.status == "new" else t.status
        at = update_ticket(self.desk, t, at, agent, assignee=agent, status=status)
        self.desk.note("first_assignment_from_group", t.id)
        self.next_work(at, t)

    def do_take_solve(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None or t.status not in UNRESOLVED:
            return
        agent = self.pick_agent(t.group_id, at)
        at = update_ticket(
            self.desk,
            t,
            at,
            agent,
            assignee=agent,
            status="solved",
            comment=(agent, True, self.line(True)),
        )
        self.desk.note("take_and_solve_from_group", t.id)
        self.after_solve(at, t)

    def do_solve_unowned(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is not None or t.status not in UNRESOLVED:
            return
        admin = self.rng.choice(self.admins)
        at = update_ticket(
            self.desk,
            t,
            at,
            admin,
            status="solved",
            comment=(admin, True, self.line(True)),
            via="Web service",
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
            at = update_ticket(
                desk,
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
            at = update_ticket(
                desk, t, at, owner, assignee=other,
                group=self.group_of(other) if cross else t.group_id,
                comment=(owner, False, "Passing this on."),
            )  # fmt: skip
            desk.note("transfer_agent_to_agent", t.id)
            desk.note("reassigned", t.id)
            self.next_work(at, t)
        else:
            group = rng.choice(sorted(desk.groups))
            at = update_ticket(
                desk,
                t,
                at,
                owner,
                assignee=None,
                group=group,
                comment=(owner, False, "Back to the queue."),
            )
            desk.note("transfer_to_group", t.id)
            desk.note("reassigned", t.id)
            self.schedule(at + minutes(rng.lognormvariate(3.5, 1.2)), "assign", t.id)

    def do_work(self, at: datetime, t: Ticket, _: int) -> None:
        if t.assignee_id is None or t.status not in ("open", "new"):
            return
        rng, desk, owner = self.rng, self.desk, t.assignee_id
        if not self.available(owner, at):
            other = self.pick_agent(t.group_id, at, exclude=(owner,))
            at = update_ticket(desk, t, at, SYSTEM_USER, assignee=other, via="Rule")
            desk.note("transfer_agent_departed", t.id)
            desk.note("reassigned", t.id)
            self.next_work(at, t)
            return
        p_transfer = 0.16 if self.transfers.get(t.id, 0) == 0 else 0.06
        r = rng.random()
        if r < p_transfer:
            self.transfer(at, t)
        elif r < p_transfer + 0.17:
            at = update_ticket(
                desk, t, at, owner, status="pending", comment=(owner, True, self.line(True))
            )
            desk.note("pending", t.id)
            self.schedule(at + minutes(rng.lognormvariate(6.0, 1.2)), "customer_reply", t.id)
        elif r < p_transfer + 0.21:
            at = update_ticket(
                desk, t, at, owner, status="hold", comment=(owner, False, "Waiting on engineering.")
            )
            desk.note("hold", t.id)
            self.schedule(at + minutes(rng.lognormvariate(6.5, 1.0)), "resume", t.id)
        elif r < p_transfer + 0.28:
            update_ticket(desk, t, at, owner, comment=(owner, rng.random() < 0.5, self.line(True)))
            desk.note("comment_only_update", t.id)
            self.next_work(at, t)
        else:
            self.solve(at, t, owner)

    def solve(self, at: datetime, t: Ticket, agent: int) -> None:
        at = update_ticket(
            self.desk, t, at, agent, status="solved", comment=(agent, True, self.line(True))
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
            self.schedule(at + minutes(rng.uniform(60, 4000)), "reopen", t.id, epoch)
        elif r < 0.105:
            self.schedule(at + minutes(rng.uniform(30, 1200)), "reassign_solved", t.id, epoch)
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
        at = update_ticket(
            self.desk, t, at, t.requester_id, status="open",
            comment=(t.requester_id, True, self.line(False)), via="Mail",
        )  # fmt: skip
        self.next_work(at, t)

    def do_resume(self, at: datetime, t: Ticket, _: int) -> None:
        if t.status != "hold" or t.assignee_id is None:
            return
        at = update_ticket(self.desk, t, at, t.assignee_id, status="open")
        self.next_work(at, t)

    def do_close(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status == "solved" and epoch == t.resolve_epoch:
            update_ticket(self.desk, t, at, SYSTEM_USER, status="closed", via="Rule")
            self.desk.note("closed", t.id)

    def do_reopen(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status != "solved" or epoch != t.resolve_epoch:
            return
        desk, owner = self.desk, t.assignee_id
        if owner is not None and self.rng.random() < 0.35:
            other = self.pick_agent(t.group_id, at, exclude=(owner,))
            at = update_ticket(
                desk, t, at, t.requester_id, assignee=other, status="open",
                comment=(t.requester_id, True, self.line(False)), via="Mail",
            )  # fmt: skip
            desk.note("reopen_and_handoff", t.id)
        else:
            at = update_ticket(
                desk, t, at, t.requester_id, status="open",
                comment=(t.requester_id, True, self.line(False)), via="Mail",
            )  # fmt: skip
        desk.note("reopen", t.id)
        if t.assignee_id is None:
            self.schedule(at + minutes(30), "assign", t.id)
        else:
            self.next_work(at, t)

    def do_reassign_solved(self, at: datetime, t: Ticket, epoch: int) -> None:
        if t.status != "solved" or epoch != t.resolve_epoch:
            return
        other = self.pick_agent(t.group_id, at, exclude=(t.assignee_id,))
        update_ticket(self.desk, t, at, other, assignee=other)
        self.desk.note("reassigned_while_solved", t.id)

    def do_delete(self, at: datetime, t: Ticket, _: int) -> None:
        admin = self.rng.choice(self.admins)
        update_ticket(self.desk, t, at, admin, status="deleted", via="Web form")
        self.desk.note("deleted", t.id)
