"""The deskmetrics application: settings, the pipeline jobs, the demo and the command line.

settings.py   settings.toml, checked; secrets from the environment
pipeline.py   sync, backfill, score, report
demo.py       the whole pipeline against the sandbox, no account needed
output.py     report rows as table, CSV, JSON
cli.py        `deskmetrics …`: parses, calls the pipeline, prints
"""
