"""The plumbing both API faces share: the HTTP server and handler base (server.py) and the
faults injected on demand (faults.py). Knows the desk only as the clock of the `Date` header.
"""
