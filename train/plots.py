"""Pictures of a run: learning curves, and input | prediction | target | photo samples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from archcount.files import write_atomic

SAMPLE_COUNT = 8
GAP = 4  # white pixels between the sample tiles


def _save(fig: Figure, path: Path) -> None:
    """Render with the Agg canvas (no pyplot global state, no display) and write atomically."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def save_curves(path: Path, metrics: list[dict], title: str) -> None:
    """curves_figure(metrics, title) as a PNG at `path`."""
    _save(curves_figure(metrics, title), path)


def curves_figure(metrics: list[dict], title: str) -> Figure:
    """Two panels over epochs: train/val loss, and train/val pixel accuracy; the train curve is
    the running mean over the epoch's steps in train mode, the validation one is eval mode.
    One legend for both, below them: inside either panel it covered points and tick labels."""
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    epochs = [row["epoch"] for row in metrics]
    train_label = "train (mean over the epoch's steps, train mode, weights changing)"
    for ax, key, label in zip(fig.subplots(1, 2), ("loss", "acc"), ("cross-entropy", "accuracy")):
        ax.plot(epochs, [row[f"train_{key}"] for row in metrics], "o-", ms=3, label=train_label)
        ax.plot(
            epochs,
            [row[f"val_{key}"] for row in metrics],
            "o-",
            ms=3,
            label="validation (eval mode)",
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"pixel {label}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.2
        ax.grid(alpha=0.3)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.suptitle(title)
    return fig


def save_samples(
    path: Path,
    gray: torch.Tensor,
    pred: torch.Tensor,
    truth: torch.Tensor,
    palette: np.ndarray,
    title: str,
    photo: np.ndarray | None = None,
) -> None:
    """Rows: input (gray, (N,1,H,W)), prediction palette[pred], target palette[truth] (the
    photo quantised to the K colours), and the photo itself (uint8 (N,3,H,W)) when given."""
    n = len(gray)
    k = len(palette)
    rows = [
        ("input (gray)", [g[0].numpy() for g in gray]),
        ("prediction", [palette[p.numpy()] for p in pred]),
        (f"target ({k}-colour\nquantised)", [palette[t.numpy()] for t in truth]),
    ]
    if photo is not None:
        rows.append(("photo", [np.transpose(p, (1, 2, 0)) / 255.0 for p in photo]))
    # One picture of the whole grid in one Axes: 32 Axes of one image each took 0.3 s to set up
    grid = mosaic([images for _, images in rows])
    fig = Figure(figsize=(1.3 * n + 0.6, 1.35 * len(rows) + 0.4))
    ax = fig.add_subplot()
    ax.imshow(grid, vmin=0.0, vmax=1.0, interpolation="nearest")
    height = gray.shape[-2]
    ax.set_xticks([])
    ax.set_yticks([r * (height + GAP) + (height - 1) / 2 for r in range(len(rows))])
    ax.set_yticklabels([label for label, _ in rows], fontsize=8, rotation=90, va="center")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle(title)
    _save(fig, path)


def mosaic(rows: list[list[np.ndarray]], gap: int = GAP) -> np.ndarray:
    """Float RGB (R·h + (R-1)·gap, C·w + (C-1)·gap, 3): row r, column c holds rows[r][c], a gray
    (h, w) or RGB (h, w, 3) image in [0, 1], the tiles apart by gap white pixels."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(images) for images in rows)
    grid = np.ones((len(rows) * (h + gap) - gap, cols * (w + gap) - gap, 3))
    for r, images in enumerate(rows):
        for c, image in enumerate(images):
            tile = image if image.ndim == 3 else image[..., None]  # gray: the same in R, G, B
            grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tile
    return grid
