"""Connectors: API pages in, interaction-model records out; no database.

protocol.py            the connector protocol the pipeline drives, and `Page`
registry.py            source types (`[sources.NAME] type`) to their connectors and streams
http.py, wire.py       the one HTTP policy: one origin, timeouts and a deadline, every
                       answer read, checked and sorted, tenacity retries
pagination.py          a stream pass's guard against loops and endless empty pages
zendesk.py             Zendesk streams through zenpy, page by page with cursors
zendesk_config.py      what a Zendesk connector is configured with
zendesk_surveys.py     Zendesk's new CSAT survey responses (read by zendesk.py)
zendesk_records.py     Zendesk JSON records to model records
salesforce_records.py  Salesforce REST/Bulk records to model records (the connector is next)
"""
