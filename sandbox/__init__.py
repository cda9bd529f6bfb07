"""Simulators of the support APIs deskmetrics reads, fed by one seeded desk with known truth.

`sandbox.desk` is the desk (people, tickets with their ownership and status history, ratings
and survey answers, and its ground truth); `sandbox.zendesk` and `sandbox.salesforce` show it
through the Zendesk and Salesforce APIs; `sandbox.wire` is the HTTP plumbing and fault
injection they share. Imports point one way: a face -> wire and desk, wire -> desk; neither
face imports the other. Nothing here imports interactions, connectors, scoring, warehouse
or deskmetrics: an honest, independent stand-in built from the public API docs.
"""
