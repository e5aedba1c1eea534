"""Training images/s per net: train.loop (data resident on the device) vs the homework's naive loop.

The naive loop is the starter code's: float64 numpy batches converted with torch.from_numpy
(...).float() and copied to the device every step, the loss through transpose/contiguous/view,
and loss.item() every step. Both loops train a fresh net of the same shape, in the same run,
their epochs interleaved.

    python bench/bench_train.py --data-dir ../shared/data/cifar-10-partial \
        --palette ../shared/data/colour_kmeans24_cat7.npy --epochs 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from train.data import load_colorization
from train.loop import NETS, Hooks, TrainConfig, build_model, train_epoch


def _sync(device: torch.device) -> None:
    """Wait for queued GPU work so wall-clock time is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def ours(cfg: TrainConfig, data, device: torch.device) -> Callable[[int], None]:
    """One epoch of train.loop.train_epoch per call, on data resident on the device."""
    model = build_model(cfg, data.num_colours).to(device)
    forward = torch.compile(model) if cfg.compile else model
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x, y = data.train_x.to(device), data.train_y.to(device)
    return lambda epoch: train_epoch(model, forward, opt, x, y, cfg, epoch, Hooks())


def naive(cfg: TrainConfig, data, device: torch.device) -> Callable[[int], None]:
    """One epoch of the starter code's loop per call: numpy -> tensor -> device every step."""
    model = build_model(cfg, data.num_colours).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    criterion = nn.CrossEntropyLoss()
    xs = data.train_x.numpy().astype(np.float64)  # the starter code keeps float64 arrays
    ys = data.train_y.numpy()[:, None]  # and N x 1 x 32 x 32 integer labels
    rng = np.random.default_rng(cfg.seed)

    def epoch(_: int) -> None:
        order = rng.permutation(len(xs))
        xe, ye = xs[order], ys[order]
        model.train()
        for i in range(0, len(xe), cfg.batch_size):
            images = torch.from_numpy(xe[i : i + cfg.batch_size]).float().to(device)
            labels = torch.from_numpy(ye[i : i + cfg.batch_size]).long().to(device)
            opt.zero_grad()
            outputs = model(images)
            n = len(images)
            flat_out = outputs.transpose(1, 3).contiguous().view([n * 32 * 32, -1])
            flat_lab = labels.transpose(1, 3).contiguous().view([n * 32 * 32])
            loss = criterion(flat_out, flat_lab)
            loss.backward()
            opt.step()
            loss.item()  # the starter code logs every step, forcing a device sync

    return epoch


def timed(run_epoch: Callable[[int], None], epoch: int, device: torch.device) -> float:
    """Seconds for one epoch, GPU work included."""
    _sync(device)
    t0 = time.perf_counter()
    run_epoch(epoch)
    _sync(device)
    return time.perf_counter() - t0


def compare(cfg: TrainConfig, data, device: torch.device, epochs: int) -> dict[str, list[float]]:
    """Per-epoch seconds of both loops, their epochs interleaved so load on a shared machine
    hits both alike; one untimed warm-up epoch each."""
    loops = {"ours": ours(cfg, data, device), "naive": naive(cfg, data, device)}
    seconds: dict[str, list[float]] = {name: [] for name in loops}
    for epoch in range(epochs + 1):
        for name, run_epoch in loops.items():
            spent = timed(run_epoch, epoch, device)
            if epoch:
                seconds[name].append(spent)
    return seconds


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/data/cifar-10-partial")
    p.add_argument("--palette", default="../shared/data/colour_kmeans24_cat7.npy")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs after one warm-up")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--num-filters", type=int, default=32)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast in our loop")
    p.add_argument("--compile", action="store_true", help="torch.compile in our loop")
    return p.parse_args()


def main() -> None:
    """Print images/s of both loops per net and their ratio."""
    args = parse_args()
    device = torch.device(args.device)
    data = load_colorization(args.data_dir, palette=args.palette or None)
    name = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"device: {name}; {len(data.train_x)} training images, batch {args.batch_size}, "
        f"{args.epochs} timed epochs, bf16={args.bf16}, compile={args.compile}"
    )
    print("images/s from the best and the median epoch (best resists load from other processes)")
    print(f"{'net':<18}{'ours best/med':>16}{'naive best/med':>17}{'ratio best/med':>17}")
    n = len(data.train_x)
    for net in NETS:
        cfg = TrainConfig(net, batch_size=args.batch_size, num_filters=args.num_filters)
        cfg.bf16, cfg.compile = args.bf16, args.compile
        sec = compare(cfg, data, device, args.epochs)
        fast = (n / min(sec["ours"]), n / statistics.median(sec["ours"]))
        slow = (n / min(sec["naive"]), n / statistics.median(sec["naive"]))
        cells = [f"{a:.0f}/{b:.0f}" for a, b in (fast, slow)]
        ratio = f"{fast[0] / slow[0]:.2f}x/{fast[1] / slow[1]:.2f}x"
        print(f"{net:<18}{cells[0]:>16}{cells[1]:>17}{ratio:>17}")


if __name__ == "__main__":
    main()
