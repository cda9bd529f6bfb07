"""The sandbox's imports point one way: each API face uses the desk and the shared plumbing,
the desk uses neither, and neither face uses the other (sandbox/__init__.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _sandbox_modules_loaded_by(package: str) -> list[str]:
    """The sandbox modules a fresh interpreter holds after importing `package`."""
    code = (
        f"import sys, {package}; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('sandbox.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(
    ("package", "must_not_load"),
    [
        ("sandbox.desk", ("sandbox.zendesk", "sandbox.salesforce", "sandbox.wire")),
        ("sandbox.wire.server", ("sandbox.zendesk", "sandbox.salesforce")),
        ("sandbox.zendesk", ("sandbox.salesforce",)),
        ("sandbox.salesforce", ("sandbox.zendesk",)),
    ],
)
def test_a_sandbox_package_loads_nothing_above_it_nor_the_other_face(
    package: str, must_not_load: tuple[str, ...]
) -> None:
    loaded = _sandbox_modules_loaded_by(package)
    assert package in loaded
    assert [m for m in loaded if m.startswith(must_not_load)] == []
