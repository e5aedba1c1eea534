"""Run-directory files: the checkpoint dict, and the metrics as CSV and JSON, written atomically."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import torch

from archcount.files import dumps, write_atomic
from train.errors import TrainError

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


def save_checkpoint(run_dir: Path, checkpoint: dict) -> Path:
    """Atomically write the checkpoint dict (tensors, numbers, strings only) to run_dir."""
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    write_atomic(run_dir / CHECKPOINT, buf.getvalue())
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
    write_atomic(run_dir / "metrics.csv", text.getvalue())
    doc = {**extra, "epochs": metrics}
    write_atomic(run_dir / "metrics.json", dumps(doc, "metrics.json"))
