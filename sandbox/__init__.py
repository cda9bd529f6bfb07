"""Simulators of the support APIs deskmetrics reads, fed by a seeded desk with known truth.

Imports nothing of interactions, connectors, scoring, warehouse or deskmetrics: an honest,
independent stand-in built from the public API docs.
"""

from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.zendesk_api import ZendeskSandbox

__all__ = ["Desk", "DeskSpec", "ZendeskSandbox", "generate_desk"]
