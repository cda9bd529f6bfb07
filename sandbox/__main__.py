"""`python -m sandbox`: the Zendesk simulator, as `python -m sandbox.zendesk` runs it."""

from sandbox.zendesk.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m sandbox"))
