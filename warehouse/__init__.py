"""The warehouse: SQL schema, idempotent upserts, cursors, dirty days, facts, views.

It knows SQL (SQLAlchemy Core, SQLite or PostgreSQL) and the interaction model, and
nothing of HTTP or of the metric rules.

    schema.py   tables, types, open_engine          views.py   BI views with rates
    store.py    store_page: a page's records, cursor and dirty days in one transaction
    upserts.py  upsert by natural key, model records to rows, rating merges
    cursors.py  stream cursors, errors, stream marks and the source's high-water mark
    day_marks.py  dirty days: marked by writes, cleared by `score`
    facts.py    histories for scoring, replacing day facts, period totals
    planner_statistics.py  PostgreSQL: a score's tables analyzed when autovacuum lags
    ratings.py  merging copies of a rating (first answer, latest answer)
    text.py     the text rule: NUL removed, lone surrogates replaced, on both databases
    json_params.py  lists of values bound as one JSON parameter, read as a table
    quarantine.py  records set aside, for `status` and `deskmetrics quarantine`
    runs.py     the runs table
    leases.py   who may write a source now (one lease row per source)
    access.py   is_read_only: a refused write that means a read-only database
    migrations/ Alembic revisions: every schema change, applied when a database opens
"""
