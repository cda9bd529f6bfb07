"""`python -m sandbox.salesforce`: run the Salesforce simulator over a generated desk in the
foreground until Ctrl-C, and print how to log in to it and how to point deskmetrics at it."""

from __future__ import annotations

import argparse
import contextlib
import threading
from datetime import UTC, datetime

from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.salesforce.api import SalesforceSandbox

# The environment variables the printed settings name: a settings file never holds a secret.
PASSWORD_ENV = "SALESFORCE_PASSWORD"
TOKEN_ENV = "SALESFORCE_SECURITY_TOKEN"
HASH_KEY_ENV = "DESKMETRICS_CUSTOMER_HASH_KEY"
# Any text will do as the key web-to-case addresses are hashed with; this one for copying.
SANDBOX_HASH_KEY = "sandbox-customer-hash-key"


def source_settings(sandbox: SalesforceSandbox, name: str = "salesforce") -> str:
    """A settings.toml table for a deskmetrics source reading this org (password login,
    Feedback Management CSAT), and the environment it needs, as shell lines."""
    c = sandbox.credentials
    return "\n".join(
        [
            f"[sources.{name}]",
            'type = "salesforce"',
            f'instance_url = "{sandbox.instance_url}"',
            f'username = "{c.username}"',
            f'password_env = "{PASSWORD_ENV}"',
            f'security_token_env = "{TOKEN_ENV}"',
            f'customer_hash_key_env = "{HASH_KEY_ENV}"',
            'csat_question = "csat"',
            "",
            f"export {PASSWORD_ENV}={c.password} {TOKEN_ENV}={c.security_token} "
            f"{HASH_KEY_ENV}={SANDBOX_HASH_KEY}",
        ]
    )


def _describe(sandbox: SalesforceSandbox, desk: Desk) -> str:
    c = sandbox.credentials
    answered = sum(r.score in ("good", "bad") for r in desk.ratings.values())
    return "\n".join(
        [
            f"Salesforce sandbox at {sandbox.instance_url}",
            # Sandbox credentials (sandbox/salesforce/STATUS.md), not secrets.
            f"  username: {c.username}  password: {c.password}  security token: {c.security_token}",
            f"  consumer key: {c.consumer_key}  consumer secret: {c.consumer_secret}",
            f"  {len(desk.tickets)} cases, {answered} answered surveys, "
            f"{len(desk.agents())} users, clock {desk.now}",
            "  simple-salesforce builds https URLs: give it "
            f"session=sandbox.salesforce.LoopbackSession({sandbox.instance_url!r})",
            "",
            "# settings.toml: a source reading this org",
            source_settings(sandbox),
        ]
    )


def main(argv: list[str] | None = None, prog: str = "python -m sandbox.salesforce") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766, help="0: any free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tickets", type=int, default=3000, help="cases")
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument("--customers", type=int, default=900)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument(
        "--shared-staff", type=int, default=0,
        help="agents who also work on every other desk run with --shared-staff",
    )  # fmt: skip
    parser.add_argument(
        "--daily-allowance", type=int, default=100_000, help="API requests a day (then 403)"
    )
    parser.add_argument(
        "--session-lifetime", type=int, default=None, help="requests a session serves (then 401)"
    )
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        spec = DeskSpec(
            now=now, seed=args.seed, agents=args.agents, customers=args.customers,
            tickets=args.tickets, days=args.days, shared_staff=args.shared_staff,
        )  # fmt: skip
    except ValueError as bad:
        parser.error(str(bad))
    desk = generate_desk(spec)
    sandbox = SalesforceSandbox(
        desk, host=args.host, port=args.port, daily_allowance=args.daily_allowance,
        session_lifetime=args.session_lifetime,
    )  # fmt: skip
    # Ctrl-C is awaited from before the first line is out: whoever reads it may press it then.
    with sandbox, contextlib.suppress(KeyboardInterrupt):
        print(_describe(sandbox, desk), flush=True)
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
