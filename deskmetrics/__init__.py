"""The deskmetrics application: settings, the pipeline jobs, the demo and the command line.

settings.py   settings.toml, checked; secrets from the environment
pipeline.py   the jobs: sync, backfill, score, report, each under its lease, recorded in runs
pull.py       reading one source: its streams page by page, in passes, within run bounds
rescoring.py  the facts of dirty days recomputed, chunk by chunk
demo.py       the whole pipeline against the sandbox, no account needed
status.py     what `status` reads and judges: health per source, its exit code
status_view.py  a status shown as text lines or JSON
check.py      `check`: settings, secrets, one request per source, the database
export.py     `export`: facts, report or ratings as CSV or Parquet
output.py     report rows as table, CSV, JSON; text made safe to show
cli.py        `deskmetrics …`: parses, calls the pipeline, prints
console.py    the command line's consoles: log records above progress bars, a bar per stream
"""
