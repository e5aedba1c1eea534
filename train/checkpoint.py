"""Run-directory files: atomic writes, the checkpoint dict, and the metrics as CSV and JSON."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import tempfile
import threading
import warnings
from pathlib import Path

import torch

from train.errors import DiskFullError, TrainError

CHECKPOINT = "checkpoint.pt"
METRIC_FIELDS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "seconds",
    "train_loss_pixel",
    "val_loss_pixel",
)


def prepare_run_dir(path: str | Path) -> Path:
    """Create the run directory and prove we can write there, else TrainError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise TrainError(f"run directory {path} is not writable ({exc.strerror or exc})") from exc
    return path


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask (reading it means setting it; the lock keeps threads from racing)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def check_writable(path: str | Path) -> Path:
    """TrainError unless path is (or could be made as) a folder we can write files in; creates
    nothing: the probe file goes in path or its nearest existing ancestor and is removed."""
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise TrainError(f"output folder {path} cannot be made: {probe} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".probe-"):
            pass
    except OSError as exc:
        raise TrainError(f"output folder {path} is not writable ({exc.strerror or exc})") from exc
    return path


def atomic_write(path: Path, payload: bytes) -> None:
    """Temp file beside path, written, flushed and fsynced, then renamed over path; mode
    0666 & ~umask as open() would give. The old file survives any failure; ENOSPC/EFBIG raise
    DiskFullError, other OS errors TrainError."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600 whatever the umask
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise DiskFullError(path) from exc
        raise TrainError(f"cannot write {path} ({exc.strerror or exc})") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def strict_json(doc, what: str = "output", note=None) -> str:
    """json.dumps(allow_nan=False) with every non-finite float replaced by null, and a warning
    naming how many were (through note(message) when given, else warnings.warn)."""
    replaced = []

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            replaced.append(value)
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    text = json.dumps(clean(doc), indent=2, allow_nan=False, ensure_ascii=False)
    if replaced:
        message = f"{what}: {len(replaced)} non-finite value(s) written as null"
        note(message) if note else warnings.warn(message, stacklevel=2)
    return text


def save_checkpoint(run_dir: Path, checkpoint: dict) -> Path:
    """Atomically write the checkpoint dict (tensors, numbers, strings only) to run_dir."""
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    atomic_write(run_dir / CHECKPOINT, buf.getvalue())
    return run_dir / CHECKPOINT


def load_checkpoint(run_dir: Path, device: torch.device) -> dict | None:
    """The run's checkpoint read with weights_only=True, or None when there is none."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except TrainError:
        raise
    except Exception as exc:  # torch raises several types for a corrupt or foreign file
        raise TrainError(f"checkpoint {path} cannot be read ({type(exc).__name__})") from exc


def write_metrics(run_dir: Path, metrics: list[dict], extra: dict) -> None:
    """metrics.csv (one row per epoch) and metrics.json (extra + the same rows)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(metrics)
    atomic_write(run_dir / "metrics.csv", text.getvalue().encode())
    doc = {**extra, "epochs": metrics}
    atomic_write(run_dir / "metrics.json", strict_json(doc, "metrics.json").encode())
