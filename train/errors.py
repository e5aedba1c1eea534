"""The one exception type for faults a user of the training harness can cause, and how the
training CLIs report it (through archcount.files' one error sink)."""

from __future__ import annotations

from contextlib import AbstractContextManager

INTERRUPTED = "interrupted: run again with --resume to continue"


class TrainError(Exception):
    """Bad data, palette, options or run directory: the CLI prints it as one line, exit 2."""


class DiskFullError(TrainError):
    """ENOSPC / EFBIG while writing path; the loop adds which checkpoint survives."""

    def __init__(self, path, last_good: int | None = None):
        self.path, self.last_good = path, last_good
        kept = "none" if not last_good else f"epoch {last_good}"
        super().__init__(f"disk full writing {path}; last good checkpoint: {kept}")


def user_errors(debug: bool) -> AbstractContextManager[None]:
    """A TrainError or a failed write is one red line on stderr and exit code 2; anything else
    is a bug and keeps its traceback; Ctrl-C says how to go on (exit 130)."""
    from archcount.files import user_errors as sink

    return sink(debug, _line, INTERRUPTED)


def _line(exc: BaseException) -> str | None:
    """Ours as it is; None (raised on, with its traceback) for anything else."""
    from archcount.files import WriteError

    return str(exc) if isinstance(exc, TrainError | WriteError) else None
