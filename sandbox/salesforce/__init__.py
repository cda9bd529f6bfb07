"""The simulated desk through Salesforce Service Cloud's face: records and a REST API simulator.

Imports the desk (sandbox.desk: its records and its ground truth) read-only and the shared
plumbing (sandbox.wire), nothing of the Zendesk face and nothing of interactions,
connectors, scoring, warehouse or deskmetrics. The truth in Salesforce terms is
sandbox.salesforce.truth. See STATUS.md here.
"""

from sandbox.salesforce.api import SalesforceSandbox
from sandbox.salesforce.face import Face, salesforce_face
from sandbox.salesforce.logins import jwt_key_pair
from sandbox.salesforce.loopback import LoopbackSession

__all__ = ["Face", "LoopbackSession", "SalesforceSandbox", "jwt_key_pair", "salesforce_face"]
