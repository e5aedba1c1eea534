"""Batch-size sweep: steps to reach a target validation loss per batch size, and its regimes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from train.errors import TrainError

if TYPE_CHECKING:  # torch is imported inside the functions so `--help` stays fast
    import torch
    from torch import nn

# Regime thresholds on the local slope s = Δlog(steps)/Δlog(B) between consecutive batch
# sizes. Perfect scaling is s = -1 (doubling B halves the steps); flat is s = 0. Batch-size
# noise makes measured slopes wander, so the bands are wide and split the interval evenly-ish.
PERFECT_MAX_SLOPE = -0.7  # s <= -0.7: perfect scaling
FLAT_MIN_SLOPE = -0.2  # s >= -0.2: maximal data parallelism; in between: diminishing returns


class Regime(str, Enum):
    """The three batch-size regimes of Shallue et al. (2019)."""

    PERFECT = "perfect scaling"
    DIMINISHING = "diminishing returns"
    MAXIMAL = "maximal data parallelism"


class LrScaling(str, Enum):
    """How the learning rate grows with batch size B from its value at the smallest B."""

    CONSTANT = "constant"
    SQRT = "sqrt"
    LINEAR = "linear"


@dataclass(frozen=True)
class SweepPoint:
    """One batch size: steps to the target (None if not reached within max_steps)."""

    batch_size: int
    lr: float
    steps: int | None
    best_val_loss: float


@dataclass(frozen=True)
class Segment:
    """The slope of log steps vs log B between two consecutive reached batch sizes."""

    b_lo: int
    b_hi: int
    slope: float
    regime: Regime


@dataclass(frozen=True)
class SweepResult:
    """The whole sweep: its settings, one point per batch size, the classified segments."""

    model: str
    target_loss: float
    max_steps: int
    eval_every: int
    points: tuple[SweepPoint, ...]
    segments: tuple[Segment, ...]


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """'8,16,32' -> (8, 16, 32): positive, distinct, at least two, returned sorted."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise TrainError(f"--batch-sizes must be comma-separated integers, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1 or len(set(sizes)) != len(sizes):
        raise TrainError(f"--batch-sizes needs at least two distinct positive sizes, got {text!r}")
    return tuple(sorted(sizes))


def classify(slope: float) -> Regime:
    """Regime of a segment from its log-log slope (thresholds at the top of this module)."""
    if slope <= PERFECT_MAX_SLOPE:
        return Regime.PERFECT
    if slope >= FLAT_MIN_SLOPE:
        return Regime.MAXIMAL
    return Regime.DIMINISHING


def segments(points: tuple[SweepPoint, ...]) -> tuple[Segment, ...]:
    """Slopes between consecutive batch sizes that both reached the target; others are skipped."""
    out = []
    for a, b in itertools.pairwise(points):
        if a.steps is None or b.steps is None:
            continue  # an unreached point has no step count: a slope through it would be invented
        slope = math.log(b.steps / a.steps) / math.log(b.batch_size / a.batch_size)
        out.append(Segment(a.batch_size, b.batch_size, slope, classify(slope)))
    return tuple(out)


def scaled_lr(base_lr: float, batch_size: int, smallest: int, scaling: LrScaling) -> float:
    """lr(B) = base · (B/B₀)^p with p = 0, ½, 1 for constant, sqrt, linear."""
    power = {LrScaling.CONSTANT: 0.0, LrScaling.SQRT: 0.5, LrScaling.LINEAR: 1.0}[scaling]
    return base_lr * (batch_size / smallest) ** power


def val_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 256) -> float:
    """Mean per-pixel cross-entropy of the model's logits against y (train.loop.evaluate, eval
    mode); the model is back in train mode afterwards."""
    from train.loop import evaluate

    try:
        return evaluate(model, model, x, y, chunk)[1]
    finally:
        model.train()


def steps_to_target(
    model: nn.Module,
    data,
    batch_size: int,
    lr: float,
    target: float,
    max_steps: int,
    eval_every: int,
    seed: int,
) -> SweepPoint:
    """Adam on shuffled mini-batches; the first evaluated step with val loss <= target."""
    import torch
    from torch.nn.functional import cross_entropy

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n, cursor = len(data.train_x), 0
    order = torch.randperm(n, generator=gen).to(data.train_x.device)
    best = math.inf
    model.train()
    for step in range(1, max_steps + 1):
        if cursor + batch_size > n:  # a fresh epoch: every batch is full-sized
            order, cursor = torch.randperm(n, generator=gen).to(data.train_x.device), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        opt.zero_grad()
        cross_entropy(model(data.train_x[idx]), data.train_y[idx]).backward()
        opt.step()
        if step % eval_every == 0 or step == max_steps:
            best = min(best, val_loss(model, data.test_x, data.test_y))
            if best <= target:
                return SweepPoint(batch_size, lr, step, best)
    return SweepPoint(batch_size, lr, None, best)


def run_sweep(
    make_model: Callable[[], nn.Module],
    data,
    batch_sizes: tuple[int, ...],
    target: float,
    max_steps: int,
    base_lr: float = 1e-3,
    scaling: LrScaling = LrScaling.SQRT,
    eval_every: int = 10,
    seed: int = 0,
    model_name: str = "model",
    on_point: Callable[[SweepPoint], None] | None = None,
) -> SweepResult:
    """One fresh model (same seed) per batch size, trained until the target or max_steps."""
    import torch

    if max(batch_sizes) > len(data.train_x):
        raise TrainError(
            f"batch size {max(batch_sizes)} exceeds the {len(data.train_x)} training images"
        )
    points = []
    for b in batch_sizes:
        torch.manual_seed(seed)  # same initial weights for every batch size
        lr = scaled_lr(base_lr, b, batch_sizes[0], scaling)
        points.append(
            steps_to_target(make_model(), data, b, lr, target, max_steps, eval_every, seed)
        )
        if on_point is not None:  # progress for a caller: a sweep runs for minutes
            on_point(points[-1])
    pts = tuple(points)
    return SweepResult(model_name, target, max_steps, eval_every, pts, segments(pts))


def as_dict(result: SweepResult) -> dict:
    """JSON-ready dict of a sweep (regimes as their names)."""
    return {
        "model": result.model,
        "target_loss": result.target_loss,
        "max_steps": result.max_steps,
        "eval_every": result.eval_every,
        "points": [vars(p) for p in result.points],
        "segments": [{**vars(s), "regime": s.regime.value} for s in result.segments],
        "thresholds": {"perfect_max_slope": PERFECT_MAX_SLOPE, "flat_min_slope": FLAT_MIN_SLOPE},
    }


_REGIME_COLOURS = {
    Regime.PERFECT: "tab:green",
    Regime.DIMINISHING: "tab:orange",
    Regime.MAXIMAL: "tab:red",
}


def plot(result: SweepResult, path: Path) -> Path:
    """Log-log steps vs batch size, segments coloured by regime, ideal 1/B line, misses as ▲."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from archcount.files import write_atomic

    fig = Figure(figsize=(6, 4.5))  # no pyplot: no global figure state, no display
    FigureCanvasAgg(fig)
    _draw(fig.subplots(), result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue())
    return path


def _draw(ax, result: SweepResult) -> None:
    """Points, the 1/B line through the first reached point, regime segments, misses."""
    reached = {p.batch_size: p.steps for p in result.points if p.steps is not None}
    missed = [p.batch_size for p in result.points if p.steps is None]
    if reached:
        b0, s0 = next(iter(reached.items()))
        bs = [p.batch_size for p in result.points]
        ax.plot(bs, [s0 * b0 / b for b in bs], "k:", label="ideal: steps ∝ 1/B")
        ax.plot(list(reached), list(reached.values()), "ko")
    labelled = set()
    for s in result.segments:
        label = None if s.regime in labelled else s.regime.value
        labelled.add(s.regime)
        xs, ys = [s.b_lo, s.b_hi], [reached[s.b_lo], reached[s.b_hi]]
        ax.plot(xs, ys, color=_REGIME_COLOURS[s.regime], lw=3, label=label)
    if missed:
        label = f"not reached in {result.max_steps}"
        ax.plot(missed, [result.max_steps] * len(missed), "r^", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel(f"steps to val loss ≤ {result.target_loss:g}")
    ax.set_title(f"{result.model}: steps to target vs batch size")
    ax.legend(fontsize=8)
