"""The one simulated support desk both API faces show, with its ground truth.

A seeded desk of people, groups, tickets (ownership and status history, Zendesk-shaped
ticket events), legacy ratings and survey responses, made by a discrete-event simulation and
moved on in batches; its truth computed by construction from what the simulation recorded.
Imports neither face (sandbox.zendesk, sandbox.salesforce) nor the HTTP plumbing.

Modules, from the bottom up: model.py (records and their Zendesk JSON), names.py,
surveys.py (new-CSAT records), state.py (`DeskSpec`, `Desk`), tickets.py (the one way to
change a ticket), sim_core.py, ticket_life.py and survey_life.py (the simulation's parts),
simulate.py (`Simulation`, `generate_desk`), advance.py (`advance_desk`), people.py
(`agent_leaves`: an agent downgraded, suspended, deleted or erased), survey_truth.py and
truth.py (`daily_facts`, `report_rows`).
"""

from sandbox.desk.advance import advance_desk
from sandbox.desk.people import agent_leaves
from sandbox.desk.simulate import generate_desk
from sandbox.desk.state import Desk, DeskSpec

__all__ = ["Desk", "DeskSpec", "advance_desk", "agent_leaves", "generate_desk"]
