"""The warehouse: SQL schema, idempotent upserts, cursors, dirty days, facts, views.

It knows SQL (SQLAlchemy Core, SQLite or PostgreSQL) and the interaction model, and
nothing of HTTP or of the metric rules.

    schema.py   tables, types, open_engine          views.py   BI views with rates
    store.py    upserts, store_page, cursors, dirty days, high-water marks
    facts.py    histories for scoring, replacing day facts, period totals
    runs.py     the runs table
"""
