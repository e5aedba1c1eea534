"""Run-directory files: atomic writes, the checkpoint dict, and the metrics as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import torch

from train.errors import TrainError

CHECKPOINT = "checkpoint.pt"
METRIC_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


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


def atomic_write(path: Path, payload: bytes) -> None:
    """Write bytes to a temporary file beside path, then os.replace: no reader sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    atomic_write(run_dir / "metrics.json", json.dumps(doc, indent=2).encode())
