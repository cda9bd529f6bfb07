"""The simulated desk through Salesforce Service Cloud's face: records and a REST API simulator.

Imports the desk generator (sandbox.desk, sandbox.model) read-only, and nothing of
interactions, connectors, scoring, warehouse or deskmetrics. See STATUS.md here.
"""

from sandbox.salesforce.api import SalesforceSandbox
from sandbox.salesforce.face import Face, salesforce_face
from sandbox.salesforce.loopback import LoopbackSession

__all__ = ["Face", "LoopbackSession", "SalesforceSandbox", "salesforce_face"]
