"""--output FILE: what the terminal shows (or the JSON), checked first and written atomically.

Strict JSON everywhere the CLI writes it: no NaN or Infinity (json's allow_nan=False); a
non-finite number becomes null and a warning.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from archcount.errors import InputError
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


def write_atomic(path: str | Path, content: str | bytes, option: str = "--output") -> Path:
    """Write `content` (text as UTF-8) to `path`: a temporary file beside it, fsynced, then
    renamed over it, with the umask's mode; an OSError is one line naming `option`.

    A full disk or any failed write leaves an earlier file whole and no temporary file.
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; honour the umask
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        _sync_folder(path.parent)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            kept = "; the earlier file is intact" if path.exists() else ""
            raise InputError(f"disk full writing {option} {path}{kept}") from None
        raise InputError(f"{option} {path}: {exc.strerror or exc}") from None
    return path


def strict(data: Any) -> Any:
    """`data` with every NaN/Infinity replaced by None, and a warning on stderr for each."""
    bad: list[str] = []
    clean = _finite(data, "", bad)
    for where in bad:
        print(f"warning: non-finite number at {where or 'top'} written as null", file=sys.stderr)
    return clean


def dumps(data: Any) -> str:
    """Strict JSON text of `data` (non-finite numbers as null, with a warning)."""
    return json.dumps(strict(data), indent=2, allow_nan=False)


def _finite(value: Any, where: str, bad: list[str]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        bad.append(where)
        return None
    if isinstance(value, dict):
        return {k: _finite(v, f"{where}.{k}", bad) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, f"{where}[{i}]", bad) for i, v in enumerate(value)]
    return value


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename itself survives a crash (where the OS allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
