"""Connectors: API pages in, interaction-model records out; no database.

protocol.py          the connector protocol the pipeline drives, and `Page`
registry.py          source types (`[sources.NAME] type`) to their connectors and streams
http.py              the one HTTP policy: timeouts, failure sorting, tenacity retries
zendesk.py           Zendesk streams through zenpy, page by page with cursors
zendesk_records.py   Zendesk JSON records to model records
"""
