"""`python -m deskmetrics` runs the command line."""

from deskmetrics.cli import main

main()
