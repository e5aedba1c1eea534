"""--output FILE: what the terminal shows (or the JSON), written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from archcount.errors import InputError
from archcount.render.export import exported


def write_output(path: str | Path, renderable: Any, data: dict[str, Any]) -> Path:
    """Write `renderable` (or `data` for .json) to `path` in the format of its suffix.

    The text goes to a temporary file beside `path`, then replaces it: a full disk or a
    failed write leaves any earlier file whole.
    """
    path = Path(path)
    try:
        text = exported(path.suffix, renderable, data)
    except InputError as exc:
        raise InputError(f"--output {path}: {exc}") from None
    return write_atomic(path, text, "--output")


def write_atomic(path: str | Path, content: str | bytes, option: str = "--output") -> Path:
    """Write `content` (text as UTF-8) to `path`: a temporary file beside it, fsynced, then
    renamed over it, with the umask's mode; an OSError is one line naming `option`."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
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
    except OSError as exc:
        raise InputError(f"{option} {path}: {exc.strerror or exc}") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
