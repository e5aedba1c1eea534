"""Training speed of train.loop against the homework starter's loop (tests/train/starter.py).

Per step (default): both loops train a fresh net of the same shape from the same weights; their
single steps are interleaved round-robin (the order alternating every round) after a warm-up,
so load from other processes on a shared machine hits both alike. Prints, per net, the median
of the per-round ratios (starter seconds / ours) and their spread.

Whole process (--whole): `python -m train` against a starter-style script (the same loop as a
plain script that also validates every epoch, --starter-process), each run as a fresh process,
alternated --repeats times; prints the median wall-clock times and their ratio.

    python bench/bench_train.py --threads 1
    python bench/bench_train.py --whole --threads 1 --epochs 12 --repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _starter_oracle():
    """tests/train/starter.py, the transcribed starter loop, loaded by its path."""
    import importlib.util

    path = ROOT / "tests" / "train" / "starter.py"
    spec = importlib.util.spec_from_file_location("starter_oracle", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sync(device) -> None:
    """Wait for queued GPU work so wall-clock time is honest."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def ours(cfg, data):
    """A function running one train.loop.train_step per call, over full batches in order."""
    import torch

    from train import distributed
    from train.loop import Hooks, setup, train_step

    t, _ = setup(cfg, data, Path(tempfile.mkdtemp()), False, Hooks(), distributed.SINGLE)
    t.net.train()
    sums = torch.zeros(3, dtype=torch.float64, device=t.x_tr.device)
    full = len(t.x_tr) // cfg.batch_size
    state = {"i": 0}

    def step() -> None:
        start = (state["i"] % full) * cfg.batch_size
        state["i"] += 1
        xb, yb = t.x_tr[start : start + cfg.batch_size], t.y_tr[start : start + cfg.batch_size]
        train_step(t, xb, yb, cfg.batch_size, sums)

    return step, t.x_tr.device


def starter(cfg, data, device):
    """A function running one step of the starter's loop per call, over full batches in order."""
    import torch
    from torch import nn

    ref = _starter_oracle()
    from train.loop import build_model

    model = build_model(cfg, data.num_colours).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    criterion = nn.CrossEntropyLoss()
    (xs, ys), _ = ref.starter_arrays(data, cfg.seed)
    full = len(xs) // cfg.batch_size
    state = {"i": 0}

    def step() -> None:
        start = (state["i"] % full) * cfg.batch_size
        state["i"] += 1
        end = start + cfg.batch_size
        ref.train_step(model, opt, criterion, xs[start:end], ys[start:end], device)

    return step


def per_step(args) -> None:
    """Round-robin single steps of both loops; per-net median ratio and spread."""
    import torch

    from train.config import TrainConfig
    from train.data.cifar import load_colorization

    data = load_colorization(args.data_dir, palette=args.palette)
    print(_header(args, torch, len(data.train_x)))
    print(
        f"{'net':<18}{'ours ms':>9}{'starter ms':>12}{'ratio median':>14}{'IQR':>13}{'min-max':>13}"
    )
    for net in args.nets.split(","):
        cfg = TrainConfig(
            net, batch_size=args.batch_size, num_filters=args.num_filters, device=args.device,
            compile=args.compile, bf16=args.bf16,
            channels_last=None if args.channels_last else False,
        )  # fmt: skip
        mine, device = ours(cfg, data)
        theirs = starter(cfg, data, device)
        times: dict[str, list[float]] = {"ours": [], "starter": []}
        for i in range(args.warmup + args.steps):
            pair = [("ours", mine), ("starter", theirs)]
            for name, step in pair if i % 2 == 0 else pair[::-1]:
                _sync(device)
                t0 = time.perf_counter()
                step()
                _sync(device)
                if i >= args.warmup:
                    times[name].append(time.perf_counter() - t0)
        ratios = sorted(b / a for a, b in zip(times["ours"], times["starter"]))
        q = statistics.quantiles(ratios, n=4)
        print(
            f"{net:<18}{1e3 * statistics.median(times['ours']):>9.1f}"
            f"{1e3 * statistics.median(times['starter']):>12.1f}"
            f"{statistics.median(ratios):>13.2f}x{q[0]:>7.2f}-{q[2]:.2f}"
            f"{ratios[0]:>7.2f}-{ratios[-1]:.2f}"
        )


def _header(args, torch, n: int) -> str:
    """Device, threads and sizes of the run."""
    dev = args.device
    name = (
        torch.cuda.get_device_name() if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    )
    return (
        f"device: {name}; {n} training images, batch {args.batch_size}, NF {args.num_filters}; "
        f"{args.warmup} warm-up + {args.steps} timed steps per loop, round-robin; "
        f"ours: channels_last={args.channels_last}, compile={args.compile}, bf16={args.bf16}"
    )


def starter_process(args) -> None:
    """The starter as a script: load, shuffle once, train --epochs, validate every epoch, print."""
    import torch

    ref = _starter_oracle()
    from train.config import TrainConfig
    from train.data.cifar import load_colorization

    if args.threads:
        torch.set_num_threads(args.threads)
    import matplotlib  # the starter imports pyplot at the top, to plot at the end

    matplotlib.use("Agg")
    data = load_colorization(args.data_dir, palette=args.palette)
    net = args.nets.split(",")[0]
    cfg = TrainConfig(
        net, epochs=args.epochs, batch_size=args.batch_size, num_filters=args.num_filters
    )
    for row in ref.run(cfg, data, args.device):
        print(
            f"Epoch [{row['epoch']}/{cfg.epochs}], Loss: {row['train_loss']:.4f}, "
            f"Val Loss: {row['val_loss']:.4f}, Val Acc: {100 * row['val_acc']:.1f}%"
        )


def whole(args) -> None:
    """Alternate `python -m train` and the starter-style script as fresh processes."""
    net = args.nets.split(",")[0]
    common = ["--data-dir", str(args.data_dir), "--palette", str(args.palette)]
    common += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    common += ["--num-filters", str(args.num_filters), "--device", args.device]
    threads = ["--threads", str(args.threads)] if args.threads else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times: dict[str, list[float]] = {"python -m train": [], "starter-style script": []}
    with tempfile.TemporaryDirectory() as tmp:
        ours_cmd = [sys.executable, "-m", "train", "--model", net, *common, *threads]
        starter_cmd = [sys.executable, __file__, "--starter-process", "--nets", net]
        commands = {
            "python -m train": [*ours_cmd, "--run-dir", tmp],
            "starter-style script": [*starter_cmd, *common, *threads],
        }
        for i in range(args.repeats):
            order = list(commands.items())
            for name, cmd in order if i % 2 == 0 else order[::-1]:
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, cwd=ROOT, env=env, capture_output=True)
                times[name].append(time.perf_counter() - t0)
    print(
        f"{net}, {args.epochs} epochs, batch {args.batch_size}, threads {args.threads or 'default'}"
    )
    for name, spent in times.items():
        cells = ", ".join(f"{s:.1f}" for s in spent)
        print(f"{name:<22} median {statistics.median(spent):6.1f} s  ({cells})")
    ratio = statistics.median(times["starter-style script"]) / statistics.median(
        times["python -m train"]
    )
    print(f"ratio (starter / ours): {ratio:.2f}x")


def fidelity(args) -> None:
    """Final metrics of train.loop (default, and --shuffle epoch) beside the starter's loop."""
    ref = _starter_oracle()
    import torch

    from train.config import TrainConfig
    from train.data.cifar import load_colorization
    from train.loop import train_model

    data = load_colorization(args.data_dir, palette=args.palette)
    # the thread count is part of the result: it sets the order of the CPU kernels' sums
    threads = torch.get_num_threads()
    print(f"{args.epochs} epochs, batch {args.batch_size}, NF {args.num_filters}, seed 0, CPU, "
          f"{threads} thread{'s' if threads > 1 else ''}")  # fmt: skip
    print(f"{'net':<18}{'loop':<22}{'train loss':>11}{'val loss':>10}{'val acc':>9}")
    for net in args.nets.split(","):
        cfg = TrainConfig(
            net, epochs=args.epochs, batch_size=args.batch_size, num_filters=args.num_filters,
            device="cpu",
        )  # fmt: skip
        rows = {"starter (transcribed)": ref.run(cfg, data)[-1]}
        with tempfile.TemporaryDirectory() as tmp:
            for label, change in (
                ("train.loop default", {}),
                ("--no-channels-last", {"channels_last": False}),
                ("--shuffle epoch", {"shuffle": "epoch"}),
            ):
                run_cfg = dataclasses.replace(cfg, **change)
                rows[label] = train_model(run_cfg, data, Path(tmp) / label.strip("-")).metrics[-1]
        for label, row in rows.items():
            print(
                f"{net:<18}{label:<22}{row['train_loss']:>11.4f}{row['val_loss']:>10.4f}{row['val_acc']:>9.1%}",
                flush=True,
            )


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=SHARED / "cifar-10-partial")
    p.add_argument("--palette", type=Path, default=SHARED / "colour_kmeans24_cat7.npy")
    p.add_argument("--nets", default="PoolUpsampleNet,ConvTransposeNet,UNet")
    p.add_argument("--steps", type=int, default=30, help="timed steps per loop and net")
    p.add_argument("--warmup", type=int, default=4, help="untimed steps per loop and net first")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--num-filters", type=int, default=32)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default torch's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast in our loop")
    p.add_argument("--compile", action="store_true", help="torch.compile in our loop")
    p.add_argument("--whole", action="store_true", help="whole processes, not steps")
    p.add_argument("--epochs", type=int, default=12, help="--whole/--fidelity: epochs")
    p.add_argument("--repeats", type=int, default=3, help="--whole: runs of each, alternated")
    p.add_argument("--fidelity", action="store_true", help="final metrics vs the starter loop")
    p.add_argument("--starter-process", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    """Per-step ratios, the whole-process comparison, or one starter-style process."""
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    if args.starter_process:
        return starter_process(args)
    if args.whole:
        return whole(args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.fidelity:
        return fidelity(args)
    per_step(args)


if __name__ == "__main__":
    main()
