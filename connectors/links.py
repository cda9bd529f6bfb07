"""Links into a source's own agent interface, for `explain` and the drill-through view.

Owns how a source's address of one interaction is made, as a prefix and a suffix around
its id: Zendesk `https://SUBDOMAIN.zendesk.com/agent/tickets/ID` (under `base_url` when it
is set, as for the sandbox), Salesforce `INSTANCE/lightning/r/Case/ID/view`.
"""

from __future__ import annotations


def zendesk_ticket_link(subdomain: str, base_url: str = "") -> tuple[str, str]:
    """(prefix, suffix) of a Zendesk ticket's agent page."""
    root = base_url.rstrip("/") if base_url else f"https://{subdomain}.zendesk.com"
    return f"{root}/agent/tickets/", ""


def salesforce_case_link(instance_url: str) -> tuple[str, str]:
    """(prefix, suffix) of a Salesforce case's Lightning record page."""
    return f"{instance_url.rstrip('/')}/lightning/r/Case/", "/view"
