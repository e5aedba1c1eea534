"""What a command leaves behind, written once for `archcount` and `python -m train`: the atomic
writer, strict JSON, and the sink that turns a failure into one red line and an exit code.

A bottom layer: it imports nothing of archcount (nor train), and typer and rich only inside
the functions that print, so importing it costs nothing.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_UMASK_LOCK = threading.Lock()


class WriteError(Exception):
    """A file could not be written; `disk_full` when the disk (or a size limit) was full."""

    def __init__(self, message: str, path: Path, disk_full: bool):
        super().__init__(message)
        self.path, self.disk_full = path, disk_full


def write_atomic(path: str | Path, content: str | bytes, what: str = "") -> Path:
    """Write `content` (text as UTF-8) to `path`: a temporary file beside it, fsynced, renamed
    over it with the umask's mode, the folder fsynced; else WriteError naming `what` and path.

    A full disk or any failed write leaves an earlier file whole and no temporary file.
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    label = f"{what} {path}" if what else str(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600; honour the umask
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            # gone already when an interrupt lands just after the rename: keep the interrupt
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _sync_folder(path.parent)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            kept = "; the earlier file is intact" if path.exists() else ""
            raise WriteError(f"disk full writing {label}{kept}", path, True) from None
        raise WriteError(f"{label}: {exc.strerror or exc}", path, False) from None
    return path


def strict(data: Any, what: str = "output") -> Any:
    """`data` with every NaN/Infinity replaced by None; a warning on stderr names each."""
    bad: list[str] = []
    clean = _finite(data, "", bad)
    if bad:
        print(f"warning: {what}: {len(bad)} non-finite value(s) written as null", file=sys.stderr)
    for where in bad:
        print(f"warning: non-finite number at {where or 'top'} written as null", file=sys.stderr)
    return clean


def dumps(data: Any, what: str = "output") -> str:
    """Strict JSON text of `data`, indented (non-finite numbers as null, with a warning)."""
    return json.dumps(strict(data, what), indent=2, allow_nan=False)


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
    """The process umask (reading it means setting it; the lock keeps threads from racing)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextmanager
def user_errors(
    debug: bool,
    describe: Callable[[BaseException], str | None],
    interrupted: str = "error: interrupted",
) -> Iterator[None]:
    """The one sink: a failure `describe` names (any BaseException but Ctrl-C) becomes
    `error: <its line>` in red on stderr, exit 2 (None: raised on); Ctrl-C is the line
    `interrupted`, exit 130; a reader that left the pipe exits 1 quietly. --debug raises
    instead, for the traceback. Python warnings are shown at the end, never beside the line."""
    with _warnings_unless_refused(), _sink(debug, describe, interrupted):
        yield


@contextmanager
def _warnings_unless_refused() -> Iterator[None]:
    """Python warnings raised in the block are held and shown when it ends, unless it ends
    in a refusal (an exit with a nonzero code, a usage error): that one line is then all
    stderr holds. A traceback (--debug, a bug) still comes after its warnings."""
    import typer
    from typer.exceptions import TyperException

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    except (typer.Exit, typer.Abort, TyperException) as exc:
        if getattr(exc, "exit_code", 1) != 0:
            caught = []
        raise
    finally:
        for w in caught:  # through the filters again: `-W error` raised already, `ignore` held none
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


@contextmanager
def _sink(
    debug: bool, describe: Callable[[BaseException], str | None], interrupted: str
) -> Iterator[None]:
    """The failures of user_errors, each to its line and exit code."""
    import typer
    from typer.exceptions import TyperException

    try:
        yield
    except (typer.Exit, typer.Abort, TyperException):
        raise  # typer's own exits and usage errors
    except KeyboardInterrupt:
        if debug:
            raise
        red_line(interrupted)
        raise typer.Exit(130) from None
    except BrokenPipeError:  # `... --json | head`: the reader left; say nothing
        sys.stdout = _Gone(sys.stdout)  # no second EPIPE when Python flushes it at exit
        raise typer.Exit(1) from None
    except BaseException as exc:  # a user's model can raise anything, GeneratorExit included
        line = None if debug else describe(exc)
        if line is None:
            raise
        fail(line)


class _Gone:
    """A stream whose reader has left: flushing it is a no-op, the rest is the stream's."""

    def __init__(self, stream):
        self._stream = stream

    def flush(self) -> None:
        with suppress(OSError):
            self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def one_line(text: str, limit: int = 400) -> str:
    """`text` on one line (whitespace runs become one space), its middle cut past `limit`."""
    text = " ".join(text.split())
    half = limit // 2
    return text if len(text) <= limit else f"{text[:half]} … {text[-half:]}"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` in red on stderr and exit with `code`."""
    import typer

    error_line(message)
    raise typer.Exit(code) from None


def error_line(message: str) -> None:
    """`error: message` in red on stderr, on one line."""
    red_line(f"error: {message}")


def red_line(text: str) -> None:
    """`text` in red on stderr, on one line."""
    from rich.console import Console

    Console(stderr=True, soft_wrap=True, highlight=False).print(
        one_line(text), style="red", markup=False, emoji=False
    )
