"""The Salesforce sandbox as a process of its own, for bench/salesforce.py: the desk is
generated and served here, so the backfill process measured there holds none of it.

    python bench/salesforce_sandbox.py --cases 10000 [--days 60] [--seed 7] [--polls 1]
        [--now 2024-03-01T12:00:00+00:00]

Prints one JSON line once it serves: `instance_url`, the desk clock `now`, `seconds` it took
to generate the desk and its Salesforce face, and `rows`, the records of each object the
connector reads (every `Case`, deleted ones too, as queryAll sees them; every
`CaseHistory`; every `Case_Survey__c`; every `User`). Then each line "served" on stdin is
answered by a JSON line with the requests the sandbox has answered so far; it stops at the
end of stdin.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from sandbox.desk import DeskSpec, generate_desk
from sandbox.salesforce import SalesforceSandbox

OBJECTS = ("Case", "CaseHistory", "Case_Survey__c", "User")
# A fixed desk clock: the same seed then gives the same desk, so figures compare across runs
# and commits. Whole seconds, as the sandbox's Date header (the connector's "now") has none.
DESK_NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def desk_spec(cases: int, days: int, seed: int, now: datetime) -> DeskSpec:
    """A desk of `cases` tickets, its agents and customers scaled as bench/backfill.py's."""
    return DeskSpec(
        now=now,
        seed=seed,
        tickets=cases,
        days=days,
        agents=max(25, cases // 120),
        customers=max(900, cases * 3 // 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--polls", type=int, default=1, help="status polls a Bulk job answers InProgress to"
    )
    parser.add_argument("--now", type=datetime.fromisoformat, default=DESK_NOW, help="desk clock")
    args = parser.parse_args()
    now = args.now.astimezone(UTC).replace(microsecond=0)
    started = time.perf_counter()
    desk = generate_desk(desk_spec(args.cases, args.days, args.seed, now))
    with SalesforceSandbox(desk, bulk_polls_in_progress=args.polls) as sandbox:
        face = sandbox.face()  # built once here, not during the first query measured
        ready = {
            "instance_url": sandbox.instance_url,
            "now": now.isoformat(),
            "seconds": time.perf_counter() - started,
            "rows": {name: len(face.objects[name]) for name in OBJECTS},
        }
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:
            if line.strip() == "served":
                print(json.dumps({"requests": sandbox.request_count}), flush=True)


if __name__ == "__main__":
    main()
