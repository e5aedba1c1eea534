"""The training loop: Adam on per-pixel cross-entropy, data resident on the device, resumable.

By default it is the homework starter's loop (tests/train/starter.py transcribes it): the training
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

import torch
from torch import nn

from archcount.files import WriteError
from models import ConvTransposeNet, PoolUpsampleNet, UNet
from train import distributed, fast
from train.checkpoint import (
    CHECKPOINT,
    make_checkpoint,
    prepare_run_dir,
    restore,
    save_checkpoint,
    write_metrics,
)
from train.config import Device, Net, Shuffle, TrainConfig
from train.data.cifar import ColorizationData
from train.data.order import epoch_order, rank_share, starter_permutations, step_bounds
from train.distributed import Dist
from train.errors import DiskFullError, TrainError, sigterm_deferred
from train.loss import colour_choice, pixel_cross_entropy

NETS = {Net.POOL_UPSAMPLE: PoolUpsampleNet, Net.CONV_TRANSPOSE: ConvTransposeNet, Net.UNET: UNet}
# 4 GB of fp32 weights (16 GB with gradients and Adam's two moments): past it a run is a typo
# (`--num-filters 1000000`), not a colorization net, and would fail allocating or swap for hours
MAX_PARAMS = 10**9


@dataclass(frozen=True)
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


def resolve_device(device: Device, hooks: Hooks) -> torch.device:
    """auto -> cuda when available else cpu (with a note); cuda without a GPU is a TrainError."""
    device = Device(device)
    if device is Device.CUDA and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA device is available (try --device cpu)")
    if device is Device.AUTO and not torch.cuda.is_available():
        hooks.note("CUDA not available: training on the CPU (much slower than a GPU)")
    cuda = device is not Device.CPU and torch.cuda.is_available()
    return torch.device("cuda" if cuda else "cpu")


def build_model(cfg: TrainConfig, num_colours: int) -> nn.Module:
    """The named net, its weights drawn from torch's generator seeded with cfg.seed."""
    check_size(cfg.model, cfg.kernel, cfg.num_filters, num_colours)
    torch.manual_seed(cfg.seed)
    return NETS[cfg.model](cfg.kernel, cfg.num_filters, num_colours, 1)


def check_size(net: Net, kernel: int, num_filters: int, num_colours: int) -> int:
    """The net's parameter count, counted on the meta device (no memory, no generator draw);
    TrainError past MAX_PARAMS or for a kernel the net cannot take."""
    try:
        with torch.device("meta"):
            model = NETS[net](kernel, num_filters, num_colours, 1)
    except ValueError as exc:  # models reject kernels that would change their shapes
        raise TrainError(str(exc)) from exc
    params = sum(p.numel() for p in model.parameters())
    if params > MAX_PARAMS:
        raise TrainError(
            f"{net} with --kernel {kernel} --num-filters {num_filters} would have {params:,} "
            f"parameters, over the limit of {MAX_PARAMS:,} (4 GB of fp32 weights)"
        )
    return params


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on the run's device when asked for, else a no-op context."""
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@dataclass(frozen=True)
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
    if cfg.shuffle is Shuffle.EPOCH:
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
    step_mean, pixel_sum, correct = distributed.sum_across(sums, d).tolist()
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


def _resident(data: ColorizationData, cfg: TrainConfig, device: torch.device):
    """The four tensors on the device, in the starter's shuffled order under Shuffle.ONCE."""
    x_tr, y_tr, x_te, y_te = data.train_x, data.train_y, data.test_x, data.test_y
    if cfg.shuffle is Shuffle.ONCE:
        p_tr, p_te = (
            torch.as_tensor(p) for p in starter_permutations(len(x_tr), len(x_te), cfg.seed)
        )
        x_tr, y_tr, x_te, y_te = x_tr[p_tr], y_tr[p_tr], x_te[p_te], y_te[p_te]
    return [t.to(device) for t in (x_tr, y_tr, x_te, y_te)]


def setup(cfg, data, run_dir, resume, hooks, d: Dist) -> tuple[Trainer, list[dict]]:
    """Device, speed settings, net (synced BN and DDP for several processes), Adam, resume."""
    device = distributed.init(d, resolve_device(cfg.device, hooks))
    speed = fast.resolve_speed(cfg.channels_last, cfg.compile, device.type == "cuda")
    model = fast.prepare_model(build_model(cfg, data.num_colours).to(device), speed)
    if d.world > 1:
        model = distributed.sync_batchnorm(model)
    opt = fast.make_optimizer(model, cfg.lr, speed)
    metrics = restore(run_dir, cfg, data.palette, model, opt, device, hooks.note) if resume else []
    if not resume and d.main and (run_dir / CHECKPOINT).is_file():
        hooks.note(f"{run_dir}: replacing the checkpoint there (--resume would continue it)")
    net = distributed.wrap(model, d, device)
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
    dist: Dist = distributed.SINGLE,
    pictures: bool = True,
) -> RunResult:
    """Train cfg.model on data; run_dir gets checkpoint.pt, metrics.csv/json, and (unless
    pictures is False) curves.png and samples.png. Each epoch, in this order: train, evaluate,
    stop on a NaN, log, checkpoint (every cfg.save_every epochs and after the last)."""
    hooks = hooks or Hooks()
    _check_shares(len(data.train_x), cfg, dist)
    run_dir = prepare_run_dir(run_dir) if dist.main else Path(run_dir)
    t, metrics = setup(cfg, data, run_dir, resume, hooks, dist)
    extra = _run_facts(t)
    saved = len(metrics)  # epochs in the checkpoint on disk: what a failure leaves behind
    steps = math.ceil(len(t.x_tr) / cfg.batch_size)
    with fast.backend_flags(t.speed):
        for epoch in range(len(metrics) + 1, cfg.epochs + 1):
            t0 = time.perf_counter()
            hooks.epoch_start(epoch, steps)
            train = train_epoch(t, epoch - 1, hooks)
            val = evaluate(
                t.model, t.forward, t.x_te, t.y_te, cfg.batch_size, cfg.bf16, t.speed.static_shapes
            )
            if not (math.isfinite(train[0]) and math.isfinite(val[0])):
                raise TrainError(_nan_message(cfg, epoch, saved, run_dir))
            metrics.append(_row(epoch, train, val, time.perf_counter() - t0))
            hooks.epoch_end(metrics[-1])
            if epoch % cfg.save_every == 0 or epoch == cfg.epochs:
                saved = _save(t, run_dir, metrics, extra, data.palette, saved)
    if dist.main:
        _guard(lambda: write_metrics(run_dir, metrics, extra), saved)
        if pictures:
            _guard(lambda: _write_pictures(run_dir, metrics, t, data), saved)
    distributed.barrier(dist)
    state = {k: v.detach().cpu().clone() for k, v in t.model.state_dict().items()}
    return RunResult(cfg, metrics, extra["params"], run_dir, state)


def _run_facts(t: Trainer) -> dict:
    """What metrics.json says of the run besides its epochs."""
    return {
        "config": {**t.cfg.as_dict(), "world_size": t.dist.world},
        "params": sum(p.numel() for p in t.model.parameters()),
        "device": str(t.x_tr.device),
        "speed": asdict(t.speed),
    }


def _row(epoch: int, train: tuple, val: tuple, seconds: float) -> dict:
    """One epoch's metrics row from (loss, pixel loss, accuracy) of training and validation."""
    (train_loss, train_pixel, train_acc), (val_loss, val_pixel, val_acc) = train, val
    row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc}
    row.update(val_loss=val_loss, val_acc=val_acc, seconds=seconds)
    row.update(train_loss_pixel=train_pixel, val_loss_pixel=val_pixel)
    return row


def _save(t: Trainer, run_dir, metrics, extra, palette, saved: int) -> int:
    """Checkpoint and metrics on rank 0; every rank waits for them. Returns the epochs saved."""
    if t.dist.main:
        ckpt = make_checkpoint(t.cfg, t.model, t.opt, metrics, palette)
        _guard(lambda: save_checkpoint(run_dir, ckpt), saved)
        _guard(lambda: write_metrics(run_dir, metrics, extra), len(metrics))
    distributed.barrier(t.dist)
    return len(metrics)


def _guard(write, saved: int):
    """Run a write, whole even if SIGTERM comes meanwhile; a full disk says which checkpoint
    survives."""
    try:
        with sigterm_deferred():
            return write()
    except WriteError as exc:
        if not exc.disk_full:
            raise
        raise DiskFullError(exc.path, saved) from exc


def _nan_message(cfg: TrainConfig, epoch: int, good: int, run_dir: Path) -> str:
    """Why the run stopped and which checkpoint survives."""
    kept = f"last good checkpoint (epoch {good}) kept in {run_dir}" if good else "no checkpoint"
    return f"{cfg.model}: loss became NaN in epoch {epoch} (lr={cfg.lr}); stopped, {kept}"


def _write_pictures(run_dir, metrics, t: Trainer, data: ColorizationData) -> None:
    """curves.png from the metrics; samples.png from the first validation images (file order)."""
    from train import plots  # matplotlib: imported only when pictures are drawn

    cfg = t.cfg
    plots.save_curves(run_dir / "curves.png", metrics, cfg.model)
    n = min(plots.SAMPLE_COUNT, len(data.test_x))
    pred = predict(t.model, data.test_x[:n].to(t.x_te.device), cfg).cpu()
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
