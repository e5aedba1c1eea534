"""--output FILE: what the terminal shows (or the JSON), checked first and written atomically
(archcount.files: strict JSON, the one writer)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from archcount.errors import InputError
from archcount.files import strict, write_atomic
from archcount.render.export import SUFFIXES, exported


def check_writable(
    path: str | Path | None, option: str = "--output", suffixes: tuple[str, ...] = SUFFIXES
) -> None:
    """Refuse, before any work, an --output (or `option`) the command could not write at the end."""
    if path is None:
        return
    path = Path(path)
    where = f"{option} {path}"
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{where}: use one of {', '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{where}: no folder {str(folder)!r}")
    if path.is_dir():
        raise InputError(f"{where}: is a folder")
    if path.exists() and not path.is_file():
        raise InputError(f"{where}: not a regular file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{where}: the folder {str(folder)!r} is not writable")


def write_output(path: str | Path, renderable: Any, data: dict[str, Any]) -> Path:
    """Write `renderable` (or `data` for .json) to `path` in the format of its suffix."""
    path = Path(path)
    try:
        text = exported(path.suffix, renderable, strict(data))
    except InputError as exc:
        raise InputError(f"--output {path}: {exc}") from None
    return write_atomic(path, text, "--output")
