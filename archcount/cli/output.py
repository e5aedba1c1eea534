"""--output FILE: what the terminal shows (or the JSON), checked first and written atomically
(archcount.files: strict JSON, the one writer); every file a command writes is said on stderr."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from archcount.errors import InputError
from archcount.files import strict, write_atomic
from archcount.render.export import SUFFIXES, exported

# What a written file holds, by suffix, for the line that says it was written
FORMAT_NAMES = {
    ".md": "Markdown", ".html": "HTML", ".htm": "HTML", ".svg": "SVG", ".json": "JSON",
    ".csv": "CSV", ".png": "PNG", ".pt": "PyTorch checkpoint",
}  # fmt: skip


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
    return written(path, text, "--output")


def written(path: str | Path, content: str | bytes, what: str, note: str = "") -> Path:
    """write_atomic(path, content, what), then the line that says so (and `note`) on stderr."""
    path = write_atomic(path, content, what)
    say_written(what, path, note)
    return path


def say_written(what: str, path: Path, note: str = "") -> None:
    """'--plot: wrote a.png (PNG, 41,213 bytes)[; note]' on stderr, never stdout (it may carry
    --json); plain text: a path is never read as rich markup."""
    print(f"{what}: wrote {path} ({described(path)}){'; ' + note if note else ''}", file=sys.stderr)


def described(path: Path) -> str:
    """'PNG, 41,213 bytes': the format (by suffix, where known) and size of a written file."""
    size = f"{path.stat().st_size:,} bytes"
    name = FORMAT_NAMES.get(path.suffix.lower())
    return f"{name}, {size}" if name else size
