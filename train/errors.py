"""The one exception type for faults a user of the training harness can cause, and how the
training CLIs report it (through archcount.files' one error sink)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPTED = "interrupted: run again with --resume to continue"
TERMINATED = (
    "terminated (SIGTERM): the last checkpoint is kept; run again with --resume to continue"
)
# 128 + SIGTERM: what a shell reports for a process TERM killed, so a scheduler that sent it
# sees "stopped as asked", told apart from Ctrl-C's 130
TERMINATED_EXIT = 128 + signal.SIGTERM


class TrainError(Exception):
    """Bad data, palette, options or run directory: the CLI prints it as one line, exit 2."""


class DiskFullError(TrainError):
    """ENOSPC / EFBIG while writing path; the loop adds which checkpoint survives."""

    def __init__(self, path, last_good: int | None = None):
        self.path, self.last_good = path, last_good
        kept = "none" if not last_good else f"epoch {last_good}"
        super().__init__(f"disk full writing {path}; last good checkpoint: {kept}")


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, as KeyboardInterrupt is, so that no `except Exception`
    on the way up swallows it, and write_atomic's cleanup still runs."""


@contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """A TrainError or a failed write is one red line on stderr and exit code 2; anything else
    is a bug and keeps its traceback; Ctrl-C (exit 130) and SIGTERM (exit 143) say how to go on."""
    import typer

    from archcount.files import red_line
    from archcount.files import user_errors as sink

    previous = _on_sigterm(_terminate)
    try:
        with sink(debug, _line, INTERRUPTED):
            yield
    except Terminated:
        if debug:
            raise
        red_line(TERMINATED)
        raise typer.Exit(TERMINATED_EXIT) from None
    finally:
        _on_sigterm(previous)


class _Deferral:
    """How many writes are under way, and whether a SIGTERM came in during one."""

    depth = 0
    pending = False


@contextmanager
def sigterm_deferred() -> Iterator[None]:
    """A SIGTERM inside the block takes effect at its end: a checkpoint is written whole (and
    kept), never cut between its rename and its cleanup."""
    _Deferral.depth += 1
    try:
        yield
    finally:
        _Deferral.depth -= 1
    if _Deferral.pending and _Deferral.depth == 0:
        _Deferral.pending = False
        raise Terminated


def _terminate(signum, frame) -> None:
    if _Deferral.depth:
        _Deferral.pending = True
    else:
        raise Terminated


def _on_sigterm(handler):
    """Install handler for SIGTERM in the main thread (only it may); the one it replaces."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _line(exc: BaseException) -> str | None:
    """Ours as it is; None (raised on, with its traceback) for anything else."""
    from archcount.files import WriteError

    return str(exc) if isinstance(exc, TrainError | WriteError) else None
