"""One run per run folder: a lock held for the whole run, and the temporary files an earlier,
killed run left there, which only the lock's holder may remove."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from train.errors import TrainError

LOCK = ".train.lock"
# What a run writes (through archcount.files.write_atomic) in RUN_DIR/<net>/ and in RUN_DIR/.
NET_OUTPUTS = ("checkpoint.pt", "metrics.csv", "metrics.json", "curves.png", "samples.png")
RUN_OUTPUTS = ("comparison.json",)


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold RUN_DIR/.train.lock (flock) for the block, else TrainError naming the process that
    holds it; the file goes on the way out, unlinked while still locked."""
    path = run_dir / LOCK
    fd = _acquire(path)
    try:
        yield
    finally:
        with suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _acquire(path: Path) -> int:
    """A descriptor of path, locked, holding our pid; retried when the holder removed the file
    between our open and our lock (we would hold a lock on a name nobody sees)."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise TrainError(f"cannot lock {path} ({exc.strerror or exc})") from exc
        try:
            if _lock(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _lock(fd: int, path: Path) -> bool:
    """Lock fd and write our pid in it; False when path is no longer fd's file; TrainError
    naming the holder when another process has it locked."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = re.sub(r"\D", "", os.pread(fd, 32, 0).decode("ascii", "replace")) or "?"
        raise TrainError(
            f"run directory {path.parent} is in use by another training run (process "
            f"{holder}); wait for it to finish or choose another --run-dir"
        ) from None
    except OSError as exc:  # a file system without locks
        raise TrainError(f"cannot lock {path} ({exc.strerror or exc})") from exc
    try:
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            return False
    except FileNotFoundError:
        return False
    with suppress(OSError):  # the pid only informs; a full disk keeps the lock
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return True


def remove_stale_temps(run_dir: Path, nets: list[str]) -> list[Path]:
    """Remove the `.NAME.XXXXXXXX.tmp` files write_atomic leaves when killed mid-write, for our
    own output names only, in RUN_DIR and RUN_DIR/<net>/ only; call it holding the lock, so no
    live writer's file is among them. Returns what was removed."""
    removed = []
    for folder, names in [(run_dir, RUN_OUTPUTS), *((run_dir / n, NET_OUTPUTS) for n in nets)]:
        stale = re.compile("|".join(rf"\.{re.escape(n)}\.[a-z0-9_]{{8}}\.tmp" for n in names))
        for entry in os.scandir(folder) if folder.is_dir() else ():
            if stale.fullmatch(entry.name) and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
