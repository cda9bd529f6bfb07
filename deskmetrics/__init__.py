"""The deskmetrics application: settings, the pipeline jobs, the demo and the command line.

settings.py   settings.toml, checked; secrets from the environment
pipeline.py   sync, backfill, score, report
demo.py       the whole pipeline against the sandbox, no account needed
status.py     what `status` shows and its exit code (text and JSON)
check.py      `check`: settings, secrets, one request per source, the database
export.py     `export`: facts, report or ratings as CSV or Parquet
output.py     report rows as table, CSV, JSON; text made safe to show
cli.py        `deskmetrics …`: parses, calls the pipeline, prints
"""
