"""Replay of one interaction's history into owners, transfers and resolutions.

Owns `replay` and the `Timeline` it returns: who handled the interaction and when, who
transferred it out, whether it was reopened, and its resolution (docs/metrics.md "Words": Update,
"Handled", "Transfer out", "Resolution and first-contact resolution (FCR)").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from operator import lt
from typing import NamedTuple

from interactions import History, OwnershipChange, StatusChange
from scoring.ordering import id_key


@dataclass(frozen=True)
class Resolution:
    """The moment an interaction became resolved, and its owner at that moment."""

    at: datetime
    resolver: str | None


@dataclass(frozen=True)
class Transfer:
    """An agent's first transfer out of an interaction (docs/metrics.md "Transfer out")."""

    at: datetime
    to: str | None  # the new owner; None: no agent (a group or queue)


@dataclass(frozen=True)
class Timeline:
    """What the history of one interaction says, before any day bucketing."""

    first_owned_at: Mapping[str, datetime]  # agent -> when they first became owner
    transferred_out: frozenset[str]  # agents with a transfer out of this interaction
    reopened: bool
    # The last change from unresolved to resolved; None when the history records none.
    last_resolution: Resolution | None
    # The status the recorded changes end in; None when there are no status changes.
    ends_resolved: bool | None
    initial_owner: str | None
    owner_steps: tuple[tuple[datetime, str | None], ...]  # owner after each update
    # Per agent in `transferred_out`, their first transfer out: when, and to whom (None: to
    # no agent, back to a group or queue). The credit ledger shows it (scoring/ledger.py).
    transfers: Mapping[str, Transfer] = field(default_factory=dict)
    reopened_at: datetime | None = None  # the first reopen, when `reopened`

    @property
    def ever_owned(self) -> bool:
        return bool(self.first_owned_at)

    def owner_at(self, at: datetime) -> str | None:
        """The owner once every update at or before `at` is applied."""
        owner = self.initial_owner
        for step_at, step_owner in self.owner_steps:
            if step_at > at:
                break
            owner = step_owner
        return owner


class _Update(NamedTuple):
    at: datetime
    update_id: str
    ownership: tuple[OwnershipChange, ...]
    statuses: tuple[StatusChange, ...]


def _change_order(change: OwnershipChange | StatusChange) -> tuple[datetime, tuple[int, int, str]]:
    return (change.at, id_key(change.change_id))


def _update_order(update: _Update) -> tuple[datetime, tuple[int, int, str]]:
    return (update.at, id_key(update.update_id))


def _updates(history: History) -> list[_Update]:
    # docs/metrics.md "Words": Update -- changes sharing update_id happen at one moment.
    grouped: dict[str, tuple[list[OwnershipChange], list[StatusChange]]] = {}
    for oc in history.ownership:
        group = grouped.get(oc.update_id)
        if group is None:
            group = grouped[oc.update_id] = ([], [])
        group[0].append(oc)
    for sc in history.statuses:
        group = grouped.get(sc.update_id)
        if group is None:
            group = grouped[sc.update_id] = ([], [])
        group[1].append(sc)
    updates = []
    # Sorts only where there is more than one thing to order: most updates hold one change.
    for update_id, (owns, stats) in grouped.items():
        if len(owns) > 1:
            owns.sort(key=_change_order)
        if len(stats) > 1:
            stats.sort(key=_change_order)
        # Each list is sorted by moment first, so its first change is its earliest.
        at = min(owns[0].at, stats[0].at) if owns and stats else (owns or stats)[0].at
        updates.append(_Update(at, update_id, tuple(owns), tuple(stats)))
    if len(updates) > 1:
        # Updates in strictly increasing moments (most histories, as read back) are in
        # order already: the ids only break ties.
        moments = [update.at for update in updates]
        if not all(map(lt, moments, islice(moments, 1, None))):
            updates.sort(key=_update_order)
    return updates


def replay(history: History) -> Timeline:
    """Walk the updates of `history` in order and collect what docs/metrics.md counts."""
    interaction = history.interaction
    updates = _updates(history)

    first_ownership = next((c for u in updates for c in u.ownership), None)
    # Who owned the interaction before its first recorded owner change; with no owner
    # changes at all, the current owner is all there is to go on.
    owner = first_ownership.previous_owner if first_ownership else interaction.owner_id
    initial_owner = owner
    first_status = next((c for u in updates for c in u.statuses), None)
    resolved = bool(first_status.previous_resolved) if first_status else False
    # With no status change recorded, an interaction resolved now was resolved from the
    # moment the source says (`solved_at`), or throughout when it says none
    # (docs/metrics.md "Words": Resolved -- a case logged closed; a solve not read yet).
    unrecorded = first_status is None and interaction.resolved
    resolved_from = interaction.solved_at if unrecorded else None

    first_owned_at: dict[str, datetime] = {}
    if owner is not None:
        first_owned_at[owner] = interaction.created_at
    transfers: dict[str, Transfer] = {}
    reopened_at: datetime | None = None
    last_resolution: Resolution | None = None
    steps: list[tuple[datetime, str | None]] = []

    for update in updates:
        resolved_before = resolved
        if unrecorded:
            resolved_before = resolved_from is None or update.at >= resolved_from
        # docs/metrics.md "Words": Update -- ownership first, judged by the status before it.
        for oc in update.ownership:
            if oc.new_owner == owner:
                continue  # A -> A is no change
            if owner is not None and not resolved_before and owner not in transfers:
                transfers[owner] = Transfer(
                    update.at, oc.new_owner
                )  # docs/metrics.md "Transfer out"
            owner = oc.new_owner
            if owner is not None and owner not in first_owned_at:
                first_owned_at[owner] = update.at  # docs/metrics.md "Handled"
        for sc in update.statuses:
            if sc.previous_resolved is not None:
                was_resolved = sc.previous_resolved
            else:
                # None at creation (nothing before it); otherwise trust what we replayed.
                was_resolved = resolved if sc.previous_status is not None else False
            if sc.resolved and not was_resolved:
                # docs/metrics.md "Resolution and first-contact resolution (FCR)": the new
                # owner of this update is the resolver.
                last_resolution = Resolution(at=update.at, resolver=owner)
            if was_resolved and not sc.resolved and reopened_at is None:
                reopened_at = update.at  # docs/metrics.md "Words": Reopened
            resolved = sc.resolved
        steps.append((update.at, owner))

    return Timeline(
        first_owned_at=first_owned_at,
        transferred_out=frozenset(transfers),
        reopened=reopened_at is not None,
        last_resolution=last_resolution,
        ends_resolved=resolved if first_status else None,
        initial_owner=initial_owner,
        owner_steps=tuple(steps),
        transfers=transfers,
        reopened_at=reopened_at,
    )


def resolution_now(history: History, timeline: Timeline) -> Resolution | None:
    """The counted resolution of an interaction that is resolved now, else None.

    docs/metrics.md "Resolution and first-contact resolution (FCR)": only interactions resolved
    now count. When the history records no resolving change -- or ends unresolved, so the
    closing change is missing -- the source's `solved_at`, else `updated_at`, stands in.
    """
    interaction = history.interaction
    if not interaction.resolved:
        return None
    if timeline.last_resolution is not None and timeline.ends_resolved is not False:
        resolution = timeline.last_resolution
    else:
        at = interaction.solved_at or interaction.updated_at
        resolution = Resolution(at=at, resolver=timeline.owner_at(at))
    if not timeline.ever_owned:
        # docs/metrics.md "Left out": never owned counts only in the unassigned row.
        return Resolution(at=resolution.at, resolver=None)
    return resolution


def resolver_for_csat(history: History, timeline: Timeline) -> str | None:
    """The resolver a response falls back to (docs/metrics.md "CSAT"), even if reopened since."""
    counted = resolution_now(history, timeline)
    if counted is not None:
        return counted.resolver
    if timeline.last_resolution is not None and timeline.ever_owned:
        return timeline.last_resolution.resolver
    return None
