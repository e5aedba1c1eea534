"""A run's folder: the checkpoint (a plain dict that carries its config), the checks that a
--resume continues the same run, and the metrics as CSV and JSON; all written atomically."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from archcount.files import dumps, write_atomic
from train.config import TrainConfig
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


def make_checkpoint(cfg: TrainConfig, model, opt, metrics: list[dict], palette) -> dict:
    """Plain dict: config, epochs done, weights, Adam state, metrics, palette."""
    return {
        "config": cfg.as_dict(),
        "epoch": len(metrics),
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "metrics": [dict(row) for row in metrics],
        "palette": torch.as_tensor(palette),
    }


def restore(run_dir: Path, cfg: TrainConfig, palette, model, opt, device, note) -> list[dict]:
    """Load run_dir's checkpoint into model and opt after checking it is this run's; returns
    the metrics so far ([] with no checkpoint). note(message) tells the user which."""
    ckpt = load_checkpoint(run_dir, device)
    if ckpt is None:
        note(f"--resume: no checkpoint in {run_dir}, starting from epoch 1")
        return []
    check_resumable(ckpt, cfg.as_dict(), palette, run_dir)
    load_weights(ckpt, model, opt, run_dir)
    note(f"--resume: continuing {cfg.model} after epoch {ckpt['epoch']}")
    return ckpt["metrics"]


# A resumed run must agree on everything that shapes its numbers; epochs may grow, and the
# speed switches (device, channels_last, compile, save_every) may change.
RESUME_KEYS = ("model", "batch_size", "lr", "kernel", "num_filters", "seed", "category", "shuffle")


def check_resumable(ckpt: dict, config: dict, palette: np.ndarray, run_dir: Path) -> None:
    """TrainError naming every setting (and the palette) in which ckpt differs from config."""
    saved = ckpt.get("config")
    if not isinstance(saved, dict) or not isinstance(ckpt.get("model"), dict):
        raise TrainError(f"--resume: {run_dir / 'checkpoint.pt'} is not a train checkpoint")
    differ = [
        f"{key}={saved.get(key)!r} (this run {config[key]!r})"
        for key in RESUME_KEYS
        if saved.get(key) != config[key]
    ]
    pal = ckpt.get("palette")
    if not isinstance(pal, torch.Tensor) or tuple(pal.shape) != palette.shape:
        shape = tuple(pal.shape) if isinstance(pal, torch.Tensor) else None
        differ.append(f"palette of shape {shape} (this run {palette.shape})")
    elif not torch.equal(pal.cpu().double(), torch.as_tensor(palette)):
        differ.append("another palette")
    if differ:
        raise TrainError(
            f"--resume: checkpoint in {run_dir} differs: {'; '.join(differ)}; "
            "use the same settings or a new --run-dir"
        )


def state_differences(saved: dict, model: nn.Module) -> list[str]:
    """Parameter and buffer names missing, unexpected or of another shape, in saved vs model."""
    own = model.state_dict()
    out = [f"{k} missing" for k in own if k not in saved]
    out += [f"{k} unexpected" for k in saved if k not in own]
    out += [
        f"{k} {tuple(saved[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in saved and isinstance(saved[k], torch.Tensor) and saved[k].shape != v.shape
    ]
    return out


def load_weights(ckpt: dict, model: nn.Module, opt: torch.optim.Optimizer, run_dir: Path):
    """Weights and Adam state into model and opt; a shape mismatch names the tensors."""
    differ = state_differences(ckpt["model"], model)
    if differ:
        shown = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
        raise TrainError(f"--resume: checkpoint in {run_dir} holds another net: {shown}")
    try:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise TrainError(f"--resume: checkpoint in {run_dir} cannot be loaded ({exc})") from exc
