"""The simulated desk through the Zendesk Support API's face: `ZendeskSandbox` on 127.0.0.1.

Imports the desk (sandbox.desk) and the shared plumbing (sandbox.wire), nothing of the
Salesforce face and nothing of interactions, connectors, scoring, warehouse or deskmetrics.
Modules: api.py (the sandbox), wire.py (its request handler), limits.py (rate limits),
endpoints.py (routing and the list and record endpoints), exports.py (incremental exports),
survey_api.py (new-CSAT survey endpoints), pages.py, params.py, served.py (what a handler
reads of the sandbox), __main__.py (`python -m sandbox.zendesk`). The truth of what it
serves is sandbox.desk.truth.
"""

from sandbox.zendesk.api import ZendeskSandbox

__all__ = ["ZendeskSandbox"]
