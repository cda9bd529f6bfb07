"""Files a command writes for people (`--out`, `--meta`, a sidecar): each path checked before
anything is written, each file written beside its path and moved into place whole.

A path that exists and is not a file (a folder, a device such as /dev/full, a named pipe)
is refused, never replaced; a write that fails (a full disk, a folder one may not write
in) is an `InputError` naming the path, and leaves what was there before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from interactions import InputError

T = TypeVar("T")


def checked_target(path: Path, option: str) -> None:
    """An `InputError` unless `path` can be written as a file: named, in a folder that
    exists, and not something else already (`option` names it in the message)."""
    if not path.name or path.name in (".", ".."):
        raise InputError(f"{option} {str(path)!r}: give the path of a file.")
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise InputError(
            f"{option} {path}: it exists and is not a file (a folder, a device or a pipe); "
            "give the path of a file."
        )
    if not path.parent.is_dir():
        raise InputError(f"{option} {path}: the folder {path.parent} does not exist; create it.")


def written_into_place(path: Path, option: str, write: Callable[[Path], T]) -> T:
    """`write` into a file beside `path`, then moved into place: never half a file at
    `path`, and what was there stays when the write fails."""
    checked_target(path, option)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        result = write(partial)
        os.replace(partial, path)
    except OSError as failed:
        raise InputError(
            f"{option} {path}: could not write it ({failed.strerror or type(failed).__name__})."
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return result


def written_text(path: Path, option: str, text: str) -> None:
    """`text` as the whole of the file at `path` (UTF-8), moved into place."""
    written_into_place(path, option, lambda partial: partial.write_text(text, encoding="utf-8"))
