"""The training loop: Adam on per-pixel cross-entropy, data resident on the device, resumable.

By default it is the homework starter's loop (train/starter.py transcribes it): the training
and test images shuffled once by numpy's seeded generator and walked in that fixed order, the
epoch's training loss the mean of its step losses, the validation loss the mean of per-batch
means. Read train_model top to bottom: set up, maybe resume, then per epoch step -> eval ->
log -> checkpoint (every --save-every epochs and at the end); a checkpoint is written only
after a finite epoch, so a NaN leaves the last good one in place.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from archcount.files import WriteError
from models import ConvTransposeNet, PoolUpsampleNet, UNet
from train import distrib, fast
from train.checkpoint import (
    CHECKPOINT,
    load_checkpoint,
    prepare_run_dir,
    save_checkpoint,
    write_metrics,
)
from train.data import ColorizationData
from train.distrib import Dist
from train.errors import DiskFullError, TrainError
from train.loss import colour_choice, pixel_cross_entropy
from train.order import Shuffle, epoch_order, rank_share, starter_permutations, step_bounds
from train.preload import preload
from train.resume import check_resumable, load_weights

NETS = {"PoolUpsampleNet": PoolUpsampleNet, "ConvTransposeNet": ConvTransposeNet, "UNet": UNet}


@dataclass
class TrainConfig:
    """One net's training run; stored as a plain dict inside its checkpoint."""

    model: str = "PoolUpsampleNet"
    epochs: int = 25
    batch_size: int = 100
    lr: float = 1e-3
    kernel: int = 3
    num_filters: int = 32
    seed: int = 0
    category: int = 7
    device: str = "auto"
    bf16: bool = False
    compile: bool = False
    shuffle: str = Shuffle.ONCE.value
    channels_last: bool | None = None  # None: on (it helps all three nets, CPU and GPU)
    save_every: int = 1


@dataclass
class RunResult:
    """What a finished run measured: per-epoch rows as in metrics.csv, and the net's size."""

    config: TrainConfig
    metrics: list[dict]
    params: int
    run_dir: Path
    state: dict | None = None  # the trained weights (this process's, on the CPU)


class Hooks:
    """Progress callbacks; the base class ignores them (the CLI passes a rich one)."""

    def note(self, message: str) -> None: ...
    def epoch_start(self, epoch: int, steps: int) -> None: ...
    def step(self) -> None: ...
    def epoch_end(self, row: dict) -> None: ...


def canonical_model(name: str) -> str:
    """The net's name as models/ spells it, matched without regard to case, else TrainError."""
    for known in NETS:
        if known.lower() == str(name).lower():
            return known
    raise TrainError(f"unknown model {name!r}; choose from {', '.join(NETS)} or all")


def validate_config(cfg: TrainConfig) -> None:
    """TrainError for values no run can use; the model's name is made canonical."""
    cfg.model = canonical_model(cfg.model)
    for name in ("epochs", "batch_size", "num_filters", "save_every"):
        if getattr(cfg, name) < 1:
            raise TrainError(f"--{name.replace('_', '-')} must be at least 1")
    if not cfg.lr > 0:  # inf passes on purpose: it is how one provokes the NaN stop
        raise TrainError(f"--lr must be positive, got {cfg.lr}")
    if cfg.shuffle not in {s.value for s in Shuffle}:
        raise TrainError(f"--shuffle must be once or epoch, got {cfg.shuffle!r}")


def resolve_device(name: str, hooks: Hooks) -> torch.device:
    """auto -> cuda when available else cpu (with a note); cuda without a GPU is a TrainError."""
    if name not in ("auto", "cpu", "cuda"):
        raise TrainError(f"--device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA device is available (try --device cpu)")
    if name == "auto" and not torch.cuda.is_available():
        hooks.note("CUDA not available: training on the CPU (much slower than a GPU)")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


def build_model(cfg: TrainConfig, num_colours: int) -> nn.Module:
    """The named net, its weights drawn from torch's generator seeded with cfg.seed."""
    torch.manual_seed(cfg.seed)
    try:
        return NETS[canonical_model(cfg.model)](cfg.kernel, cfg.num_filters, num_colours, 1)
    except ValueError as exc:  # models reject kernels that would change their shapes
        raise TrainError(str(exc)) from exc


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on the run's device when asked for, else a no-op context."""
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@dataclass
class Trainer:
    """What one run's epochs share: the nets (raw, as trained, compiled), Adam, resident data."""

    cfg: TrainConfig
    model: nn.Module  # the net itself: checkpoints, evaluation, samples
    net: nn.Module  # what a training step calls: DistributedDataParallel(model) or model
    forward: nn.Module  # net, or its compiled graph for full batches
    opt: torch.optim.Optimizer
    speed: fast.Speed
    dist: Dist
    x_tr: torch.Tensor
    y_tr: torch.Tensor
    x_te: torch.Tensor
    y_te: torch.Tensor


def train_step(t: Trainer, xb, yb, global_size: int, sums: torch.Tensor) -> None:
    """One Adam step on this rank's share (xb, yb) of a global batch of global_size images;
    adds its part of the step's mean loss, of the step's loss sum over images, and its
    correct pixels into sums, on the device."""
    share = len(yb) / global_size
    full = global_size == t.cfg.batch_size
    step = t.forward if full or not t.speed.static_shapes else t.net  # short batch: eager
    fast.step_begin(t.speed)
    with autocast(xb.device, t.cfg.bf16):
        logits = step(xb)
    loss = pixel_cross_entropy(logits.float(), yb)
    t.opt.zero_grad(set_to_none=True)
    world = t.dist.world
    (loss * (share * world) if world > 1 else loss).backward()
    t.opt.step()
    with torch.no_grad():
        part = loss.detach().double() * share
        sums[0] += part
        sums[1] += part * global_size
        sums[2] += (colour_choice(logits.detach()) == yb).sum()


def train_epoch(t: Trainer, epoch: int, hooks: Hooks) -> tuple[float, float, float]:
    """One pass; returns (mean of the steps' mean losses, mean pixel loss, pixel accuracy).

    Sums stay on the device: no host sync inside the epoch, one all_reduce and one .item()
    after it. Each rank backpropagates its share of the global batch's mean loss (scaled by
    the world size, which DistributedDataParallel's gradient average divides out).
    """
    cfg, d = t.cfg, t.dist
    t.net.train()
    n = len(t.x_tr)
    order = None
    if cfg.shuffle == Shuffle.EPOCH.value:
        order = epoch_order(n, cfg.seed, epoch).to(t.x_tr.device)
    sums = torch.zeros(3, dtype=torch.float64, device=t.x_tr.device)
    bounds = step_bounds(n, cfg.batch_size)
    for start, stop in bounds:
        lo, hi = rank_share(start, stop, d.rank, d.world)
        if order is None:  # the starter's fixed order: a batch is a slice, no gather
            xb, yb = t.x_tr[lo:hi], t.y_tr[lo:hi]
        else:
            xb, yb = t.x_tr[order[lo:hi]], t.y_tr[order[lo:hi]]
        train_step(t, xb, yb, stop - start, sums)
        hooks.step()
    step_mean, pixel_sum, correct = distrib.sum_across(sums, d).tolist()
    return step_mean / len(bounds), pixel_sum / n, correct / t.y_tr.numel()


@torch.no_grad()
def evaluate(
    model, forward, x, y, batch_size: int, bf16: bool = False, static: bool = False
) -> tuple[float, float, float]:
    """(mean of per-batch mean losses, mean pixel loss, pixel accuracy) over (x, y) in eval
    mode; with static, a short last batch is zero-padded to batch_size and the pad ignored."""
    model.eval()
    means, total = [], torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        k = len(xb)
        if static and k < batch_size:
            xb = torch.cat([xb, xb.new_zeros((batch_size - k, *xb.shape[1:]))])
        with autocast(x.device, bf16):
            logits = forward(xb)[:k]
        batch_sum = pixel_cross_entropy(logits.float(), yb, reduction="sum").double()
        means.append(batch_sum / yb.numel())
        total += batch_sum
        correct += (colour_choice(logits) == yb).sum()
    per_batch = torch.stack(means).mean().item()
    return per_batch, total.item() / y.numel(), correct.item() / y.numel()


@torch.no_grad()
def predict(model, x, cfg: TrainConfig) -> torch.Tensor:
    """Palette indices (N, H, W) the net picks for gray images x, in eval mode."""
    model.eval()
    with autocast(x.device, cfg.bf16):
        return colour_choice(model(x))


def make_checkpoint(cfg, model, opt, metrics: list[dict], palette: np.ndarray) -> dict:
    """Plain dict: config, epochs done, weights, Adam state, metrics, palette."""
    return {
        "config": asdict(cfg),
        "epoch": len(metrics),
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "metrics": [dict(row) for row in metrics],
        "palette": torch.as_tensor(palette),
    }


def restore(run_dir, cfg, palette, model, opt, device, hooks: Hooks) -> list[dict]:
    """Load a checkpoint into model and opt; returns the metrics so far ([] with no checkpoint)."""
    ckpt = load_checkpoint(run_dir, device)
    if ckpt is None:
        hooks.note(f"--resume: no checkpoint in {run_dir}, starting from epoch 1")
        return []
    check_resumable(ckpt, asdict(cfg), palette, run_dir)
    load_weights(ckpt, model, opt, run_dir)
    hooks.note(f"--resume: continuing {cfg.model} after epoch {ckpt['epoch']}")
    return ckpt["metrics"]


def _resident(data: ColorizationData, cfg: TrainConfig, device: torch.device):
    """The four tensors on the device, in the starter's shuffled order under Shuffle.ONCE."""
    x_tr, y_tr, x_te, y_te = data.train_x, data.train_y, data.test_x, data.test_y
    if cfg.shuffle == Shuffle.ONCE.value:
        p_tr, p_te = (
            torch.as_tensor(p) for p in starter_permutations(len(x_tr), len(x_te), cfg.seed)
        )
        x_tr, y_tr, x_te, y_te = x_tr[p_tr], y_tr[p_tr], x_te[p_te], y_te[p_te]
    return [t.to(device) for t in (x_tr, y_tr, x_te, y_te)]


def setup(cfg, data, run_dir, resume, hooks, d: Dist) -> tuple[Trainer, list[dict]]:
    """Device, speed settings, net (synced BN and DDP for several processes), Adam, resume."""
    device = distrib.init(d, resolve_device(cfg.device, hooks))
    speed = fast.resolve_speed(cfg.channels_last, cfg.compile, device.type == "cuda")
    model = fast.prepare_model(build_model(cfg, data.num_colours).to(device), speed)
    if d.world > 1:
        model = distrib.sync_batchnorm(model)
    opt = fast.make_optimizer(model, cfg.lr, speed)
    metrics = restore(run_dir, cfg, data.palette, model, opt, device, hooks) if resume else []
    if not resume and d.main and (run_dir / CHECKPOINT).is_file():
        hooks.note(f"{run_dir}: replacing the checkpoint there (--resume would continue it)")
    net = distrib.wrap(model, d, device)
    if cfg.compile and d.world > 1:
        hooks.note("--compile is not used under torchrun (collectives inside CUDA graphs)")
    compiled = cfg.compile and d.world == 1
    forward = fast.compile_model(net, speed.compile_mode) if compiled else net
    if not compiled:
        speed = fast.Speed(**{**asdict(speed), "compile_mode": None, "static_shapes": False})
    tensors = _resident(data, cfg, device)
    return Trainer(cfg, model, net, forward, opt, speed, d, *tensors), metrics


def _check_shares(n: int, cfg: TrainConfig, d: Dist) -> None:
    """Every process needs at least one image of every global batch."""
    smallest = min(stop - start for start, stop in step_bounds(n, cfg.batch_size))
    if smallest < d.world:
        raise TrainError(
            f"a batch of {smallest} images cannot be shared by {d.world} processes; "
            "choose --batch-size so that every batch, the last one too, has one image per process"
        )


def train_model(
    cfg: TrainConfig,
    data: ColorizationData,
    run_dir: str | Path,
    resume: bool = False,
    hooks: Hooks | None = None,
    dist: Dist = distrib.SINGLE,
    pictures: bool = True,
) -> RunResult:
    """Train cfg.model on data; run_dir gets checkpoint.pt, metrics.csv/json, and (unless
    pictures is False) curves.png and samples.png."""
    hooks = hooks or Hooks()
    validate_config(cfg)
    _check_shares(len(data.train_x), cfg, dist)
    run_dir = prepare_run_dir(run_dir) if dist.main else Path(run_dir)
    t, metrics = setup(cfg, data, run_dir, resume, hooks, dist)
    if dist.main and pictures:  # after setup: Adam's constructor imports torch._dynamo
        preload("train.plots")
    extra = {
        "config": {**asdict(cfg), "world_size": dist.world},
        "params": sum(p.numel() for p in t.model.parameters()),
        "device": str(t.x_tr.device),
        "speed": asdict(t.speed),
    }
    saved = len(metrics)  # epochs in the checkpoint on disk: what a failure leaves behind
    steps = math.ceil(len(t.x_tr) / cfg.batch_size)
    with fast.backend_flags(t.speed):
        for epoch in range(len(metrics), cfg.epochs):
            t0 = time.perf_counter()
            hooks.epoch_start(epoch + 1, steps)
            train_loss, train_pixel, train_acc = train_epoch(t, epoch, hooks)
            val_loss, val_pixel, val_acc = evaluate(
                t.model, t.forward, t.x_te, t.y_te, cfg.batch_size, cfg.bf16, t.speed.static_shapes
            )
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                raise TrainError(_nan_message(cfg, epoch + 1, saved, run_dir))
            row = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc}
            row.update(val_loss=val_loss, val_acc=val_acc, seconds=time.perf_counter() - t0)
            row.update(train_loss_pixel=train_pixel, val_loss_pixel=val_pixel)
            metrics.append(row)
            hooks.epoch_end(row)
            if (epoch + 1) % cfg.save_every == 0 or epoch + 1 == cfg.epochs:
                saved = _save(t, run_dir, metrics, extra, data.palette, saved)
    if dist.main:
        _guard(lambda: write_metrics(run_dir, metrics, extra), saved)
        if pictures:
            _guard(lambda: _write_pictures(run_dir, metrics, t.model, t.x_te, data, cfg), saved)
    distrib.barrier(dist)
    state = {k: v.detach().cpu().clone() for k, v in t.model.state_dict().items()}
    return RunResult(cfg, metrics, extra["params"], run_dir, state)


def _save(t: Trainer, run_dir, metrics, extra, palette, saved: int) -> int:
    """Checkpoint and metrics on rank 0; every rank waits for them. Returns the epochs saved."""
    if t.dist.main:
        ckpt = make_checkpoint(t.cfg, t.model, t.opt, metrics, palette)
        _guard(lambda: save_checkpoint(run_dir, ckpt), saved)
        _guard(lambda: write_metrics(run_dir, metrics, extra), len(metrics))
    distrib.barrier(t.dist)
    return len(metrics)


def _guard(write, saved: int):
    """Run a write; a full disk says which checkpoint survives."""
    try:
        return write()
    except WriteError as exc:
        if not exc.disk_full:
            raise
        raise DiskFullError(exc.path, saved) from exc


def _nan_message(cfg: TrainConfig, epoch: int, good: int, run_dir: Path) -> str:
    """Why the run stopped and which checkpoint survives."""
    kept = f"last good checkpoint (epoch {good}) kept in {run_dir}" if good else "no checkpoint"
    return f"{cfg.model}: loss became NaN in epoch {epoch} (lr={cfg.lr}); stopped, {kept}"


def _write_pictures(run_dir, metrics, model, x_te, data, cfg) -> None:
    """curves.png from the metrics; samples.png from the first validation images (file order)."""
    from train import plots  # matplotlib, imported in the background since setup (preload)

    plots.save_curves(run_dir / "curves.png", metrics, cfg.model)
    n = min(plots.SAMPLE_COUNT, len(data.test_x))
    pred = predict(model, data.test_x[:n].to(x_te.device), cfg).cpu()
    photo = data.test_rgb[:n] if data.test_rgb is not None else None
    plots.save_samples(
        run_dir / "samples.png",
        data.test_x[:n],
        pred,
        data.test_y[:n],
        data.palette,
        cfg.model,
        photo,
    )
