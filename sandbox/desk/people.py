"""An agent leaving the team, in each of the ways Zendesk shows it.

Zendesk's agent list (`users?role[]=agent&role[]=admin`) holds current agents and admins,
suspended or deleted ones among them (`suspended`, `active: false`). An agent downgraded to
end-user leaves that list, and `users/show_many` still answers them with their new role; a
user permanently deleted ("erased" here) is answered by no endpoint at all. Whichever way
they leave, the tickets they handled keep them as owner, and the simulation gives them no
work after. The generator makes three agents leave before a desk's end (simulate.py); a test
makes one leave between two syncs with `agent_leaves`.
"""

from __future__ import annotations

from datetime import datetime

from sandbox.desk.model import User
from sandbox.desk.state import Desk

LEAVINGS = ("downgraded", "suspended", "deleted", "erased")


def agent_leaves(desk: Desk, user_id: int, how: str, at: datetime | None = None) -> None:
    """Agent `user_id` leaves the team `how` (one of `LEAVINGS`) at `at`, the desk's clock
    if not given."""
    if how not in LEAVINGS:
        raise ValueError(f"an agent leaves in one of {LEAVINGS}, not {how!r}")
    with desk.lock:
        user = desk.users[user_id]
        if not user.is_staff:
            raise ValueError(f"user {user_id} was never an agent")
        leave(user, how, at or desk.now)
        desk.note(f"agent_{how}", 0)
        desk.changed()


def leave(user: User, how: str, at: datetime) -> None:
    """`user` as Zendesk shows them once they left `how` at `at`."""
    user.available_until = at
    user.updated_at = at
    if how == "downgraded":
        user.role = "end-user"
    elif how == "suspended":
        user.suspended = True
    else:  # deleted first, then erased: no longer active either way
        user.active = False
        user.erased = how == "erased"
