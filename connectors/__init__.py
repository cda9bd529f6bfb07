"""Connectors: API pages in, interaction-model records out; no database.

http.py              the one HTTP policy: timeouts, failure sorting, tenacity retries
zendesk.py           Zendesk streams through zenpy, page by page with cursors
zendesk_records.py   Zendesk JSON records to model records
"""
