"""--resume: is this checkpoint a run of the same thing, and load it, naming what differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from train.errors import TrainError

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
