"""The one exception type for faults a user of the training harness can cause, and how the
training CLIs report it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class TrainError(Exception):
    """Bad data, palette, options or run directory: the CLI prints it as one line, exit 2."""


class DiskFullError(TrainError):
    """ENOSPC / EFBIG while writing path; the loop adds which checkpoint survives."""

    def __init__(self, path, last_good: int | None = None):
        self.path, self.last_good = path, last_good
        kept = "none" if not last_good else f"epoch {last_good}"
        super().__init__(f"disk full writing {path}; last good checkpoint: {kept}")


@contextlib.contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """Turn a TrainError into one red line on stderr and exit code 2 (--debug: the traceback)."""
    import typer
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True)
    try:
        yield
    except TrainError as exc:
        if debug:
            raise
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("[red]interrupted:[/red] run again with --resume to continue")
        raise typer.Exit(130) from None
