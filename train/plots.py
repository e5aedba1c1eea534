"""Pictures of a run: learning curves and gray | prediction | ground truth samples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from train.checkpoint import atomic_write

SAMPLE_COUNT = 8


def _save(fig: Figure, path: Path) -> None:
    """Render with the Agg canvas (no pyplot global state, no display) and write atomically."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    atomic_write(path, buf.getvalue())


def save_curves(path: Path, metrics: list[dict], title: str) -> None:
    """Two panels over epochs: train/val loss, and train/val pixel accuracy."""
    fig = Figure(figsize=(9, 3.5))
    epochs = [row["epoch"] for row in metrics]
    for ax, key, label in zip(fig.subplots(1, 2), ("loss", "acc"), ("cross-entropy", "accuracy")):
        ax.plot(epochs, [row[f"train_{key}"] for row in metrics], "o-", ms=3, label="train")
        ax.plot(epochs, [row[f"val_{key}"] for row in metrics], "o-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"pixel {label}")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    _save(fig, path)


def save_samples(
    path: Path,
    gray: torch.Tensor,
    pred: torch.Tensor,
    truth: torch.Tensor,
    palette: np.ndarray,
    title: str,
) -> None:
    """Rows: gray input (N,1,H,W), palette[pred], palette[truth] (the quantised target)."""
    n = len(gray)
    fig = Figure(figsize=(1.3 * n, 4.2))
    axes = np.asarray(fig.subplots(3, n, squeeze=False))
    rows = (
        ("gray input", [g[0].numpy() for g in gray]),
        ("prediction", [palette[p.numpy()] for p in pred]),
        ("ground truth", [palette[t.numpy()] for t in truth]),
    )
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = axes[r, c]
            ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label)
    fig.suptitle(title)
    _save(fig, path)
