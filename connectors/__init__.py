"""Connectors: API pages in, interaction-model records out; no database.

protocol.py            the connector protocol the pipeline drives, and `Page`
registry.py            source types (`[sources.NAME] type`) to their connectors and streams
http.py, wire.py       the one HTTP policy: one origin, timeouts and a deadline, every
                       answer read, checked and sorted, tenacity retries
pagination.py          a stream pass's guard against loops and endless empty pages
record_fields.py       what reading fields is alike for every source: times, bad values shown
zendesk.py             Zendesk streams through zenpy, page by page with cursors
zendesk_config.py      what a Zendesk connector is configured with
zendesk_surveys.py     Zendesk's new CSAT survey responses (read by zendesk.py)
zendesk_records.py     Zendesk JSON records to model records
salesforce.py          Salesforce streams through simple-salesforce: logins, requests, limits
salesforce_windows.py  one windowed stream's pass: REST pages, or a Bulk job for a large window
salesforce_bulk.py     one Bulk API 2.0 query job, result page by result page
salesforce_http.py     Salesforce's side of the HTTP policy: routing, error codes, allowance
salesforce_csat.py     where an org keeps CSAT (custom object or Feedback Management), checked,
                       and how its answers are dated
salesforce_org.py      what a run learns of the org before its first data query, and keeps
salesforce_config.py   what a Salesforce connector is configured with
salesforce_records.py  Salesforce REST/Bulk records to model records
"""
