"""`python -m sandbox.zendesk` (or `python -m sandbox`): run the Zendesk simulator over a
generated desk in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading
from datetime import UTC, datetime

from sandbox.desk import DeskSpec, generate_desk
from sandbox.zendesk.api import ZendeskSandbox


def main(argv: list[str] | None = None, prog: str = "python -m sandbox.zendesk") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument("--customers", type=int, default=900)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument(
        "--shared-staff", type=int, default=0,
        help="agents who also work on every other desk run with --shared-staff",
    )  # fmt: skip
    parser.add_argument("--export-limit", type=int, default=None, help="export requests a minute")
    parser.add_argument("--frozen-clock", action="store_true", help="do not follow the wall clock")
    parser.add_argument(
        "--csat-switch-days", type=float, default=None,
        help="switch to new CSAT (survey responses) this many days ago",
    )  # fmt: skip
    parser.add_argument("--survey-scale", type=int, default=5, choices=(2, 3, 5))
    parser.add_argument("--survey-emoji", action="store_true", help="an emoji rating scale")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    spec = DeskSpec(
        now=now, seed=args.seed, agents=args.agents, customers=args.customers,
        tickets=args.tickets, days=args.days, csat_switch_days=args.csat_switch_days,
        survey_scale=args.survey_scale, survey_emoji=args.survey_emoji,
        shared_staff=args.shared_staff,
    )  # fmt: skip
    desk = generate_desk(spec)
    sandbox = ZendeskSandbox(
        desk, host=args.host, port=args.port, export_limit_per_minute=args.export_limit,
        follow_wall_clock=not args.frozen_clock,
    )  # fmt: skip
    # Ctrl-C is awaited from before the first line is out: whoever reads it may press it then.
    with sandbox, contextlib.suppress(KeyboardInterrupt):
        print(f"Zendesk sandbox at {sandbox.base_url}", flush=True)
        print(f"  email: {sandbox.email}  token: {sandbox.token}", flush=True)
        print(f"  ZENPY_FORCE_NETLOC={sandbox.base_url.split('//')[1]} ZENPY_FORCE_SCHEME=http")
        answered = sum(r.score in ("good", "bad") for r in desk.ratings.values())
        print(
            f"  {len(desk.tickets)} tickets, {len(desk.events)} events, "
            f"{len(desk.ratings)} ratings ({answered} answered), {len(desk.agents())} agents, "
            f"clock {desk.now}",
            flush=True,
        )
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
