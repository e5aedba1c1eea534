"""The prepared GPU check (bench/gpu_check.sh): all three nets, 25 epochs, two data sets.

On a GPU: the partial CIFAR-10 set and a generated 5,000-image set in the CIFAR format (the
homework's size), each net through train.loop's CUDA fast path (--compile: CUDA graphs on full
batches); prints images/s, s/epoch, peak GPU memory beside archcount's training-memory estimate
(issue 13's `archcount TARGET --training --json`, "n/a" until it exists), and the final metrics
beside a CPU run of the same configuration on the partial set. `--device cpu` runs the same
script scaled down (1 epoch, 100 images, NF 8) as a smoke test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from archcount.files import dumps, write_atomic
from bench.synthetic import write_synthetic
from train.config import TrainConfig
from train.data.cifar import load_colorization
from train.loop import NETS, train_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _limit(data, n_train: int | None, n_test: int | None):
    """The data set cut to its first n_train / n_test images (None keeps all)."""
    cut = {
        "train_x": data.train_x[:n_train],
        "train_y": data.train_y[:n_train],
        "test_x": data.test_x[:n_test],
        "test_y": data.test_y[:n_test],
    }
    rgb = data.test_rgb[:n_test] if data.test_rgb is not None else None
    return dataclasses.replace(data, **cut, test_rgb=rgb)


def estimate_mib(net: str, cfg: TrainConfig, num_colours: int) -> float | None:
    """archcount's estimated training peak (MiB) at the run's batch, or None if unavailable."""
    cmd = [sys.executable, "-c", "from archcount.cli import main; main()", f"models.{net}"]
    cmd += ["--nic", "1", "--nf", str(cfg.num_filters), "--nc", str(num_colours), "--size", "32"]
    cmd += ["--training", "--batch", str(cfg.batch_size), "--optimizer", "adam", "--json"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout)["training"]["peak_bytes"] / 2**20
    except (subprocess.SubprocessError, ValueError, KeyError, TypeError, OSError):
        return None


def run_one(cfg: TrainConfig, data, out: Path) -> dict:
    """Train one net; its timings, peak memory and final metrics."""
    cuda = cfg.device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    run_dir = out / f"{cfg.model}-{cfg.device}-{len(data.train_x)}"
    result = train_model(cfg, data, run_dir, pictures=False)
    wall = time.perf_counter() - t0
    seconds = [row["seconds"] for row in result.metrics]
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    last = result.metrics[-1]
    return {
        "net": cfg.model,
        "images": len(data.train_x),
        "epochs": cfg.epochs,
        "wall_s": wall,
        "epochs_s": sum(seconds),
        "first_epoch_s": seconds[0],
        "s_per_epoch": steady,
        "images_per_s": len(data.train_x) / steady,
        "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "val_loss": last["val_loss"],
        "val_acc": last["val_acc"],
        "train_loss": last["train_loss"],
    }


def _fmt(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(rows: list[dict], cpu: dict[str, dict], estimates: dict[str, float | None]) -> None:
    """One line per (set, net), then the 5,000-image goal."""
    print(
        f"{'set':<10}{'net':<18}{'img/s':>9}{'s/epoch':>9}{'1st ep s':>9}{'peak MiB':>9}"
        f"{'est MiB':>9}{'val loss':>9}{'val acc':>8}{'CPU loss':>9}{'CPU acc':>8}"
    )
    for r in rows:
        ref = cpu.get(r["net"]) if r["set"] == "partial" else None
        print(
            f"{r['set']:<10}{r['net']:<18}{r['images_per_s']:>9.0f}{r['s_per_epoch']:>9.3f}"
            f"{r['first_epoch_s']:>9.2f}{_fmt(r['peak_mib'], '.1f'):>9}"
            f"{_fmt(estimates.get(r['net']), '.1f'):>9}{r['val_loss']:>9.4f}{r['val_acc']:>8.1%}"
            f"{_fmt(ref and ref['val_loss'], '.4f'):>9}{_fmt(ref and ref['val_acc'], '.1%'):>8}"
        )
    big = [r for r in rows if r["set"] == "generated" and r["net"] != "UNet"]
    if big:
        total = sum(r["epochs_s"] for r in big)
        steady = sum(r["s_per_epoch"] * r["epochs"] for r in big)
        print(
            f"PoolUpsampleNet + ConvTransposeNet, {big[0]['epochs']} epochs on {big[0]['images']:,}"
            f" images: {total:.1f} s with compilation, {steady:.1f} s at the steady rate "
            "(goal <= 10 s)"
        )


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--data-dir", type=Path, default=SHARED / "cifar-10-partial")
    p.add_argument("--palette", type=Path, default=SHARED / "colour_kmeans24_cat7.npy")
    p.add_argument("--epochs", type=int, default=None, help="default 25 (cuda), 1 (cpu)")
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    return p.parse_args(argv)


def base_config(args: argparse.Namespace, smoke: bool) -> TrainConfig:
    """The run every net shares: 25 epochs on the GPU; the smoke test small and short."""
    epochs = args.epochs or (1 if smoke else 25)
    small = {"num_filters": 4, "batch_size": 25} if smoke else {}
    return TrainConfig(
        epochs=epochs,
        device=args.device,
        compile=args.compile and not smoke,
        save_every=epochs,  # one checkpoint, at the end: the GPU is not made to wait
        **small,  # the smoke test: seconds, not minutes (small nets, few images)
    )


def data_sets(args: argparse.Namespace, smoke: bool, tmp: Path) -> dict:
    """The partial CIFAR-10 set (when present) and a generated one in the CIFAR format."""
    have_real = (args.data_dir / "test_batch").is_file() and args.palette.is_file()
    palette = args.palette if args.palette.is_file() else None
    sets = {}
    if have_real:
        limit = (50, 10) if smoke else (None, None)
        sets["partial"] = _limit(load_colorization(args.data_dir, palette=palette), *limit)
    n_train, n_test = (50, 10) if smoke else (5000, 1000)
    source = args.data_dir if have_real else None
    gen = write_synthetic(tmp / "gen", n_train, n_test, source=source)
    sets["generated"] = load_colorization(gen, palette=palette)
    return sets


def main(argv=None) -> int:
    args = parse_args(argv)
    smoke = args.device == "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (use --device cpu for the smoke test)")
        return 2
    base = base_config(args, smoke)
    if smoke:  # one thread: CI shares its cores
        torch.set_num_threads(1)
    name = torch.cuda.get_device_name() if not smoke else "CPU smoke test (1 epoch, 50 images)"
    print(f"gpu_check on {name}; torch {torch.__version__}; compile={base.compile}")
    rows, cpu, estimates = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = data_sets(args, smoke, Path(tmp))
        for set_name, data in sets.items():
            for net in NETS:
                cfg = dataclasses.replace(base, model=net)
                rows.append({"set": set_name, **run_one(cfg, data, Path(tmp))})
                if set_name == "partial" and not smoke:
                    cpu_cfg = dataclasses.replace(cfg, device="cpu", compile=False)
                    cpu[net] = run_one(cpu_cfg, data, Path(tmp))
        num_colours = sets["generated"].num_colours
        for net in NETS:
            estimates[net] = None if smoke else estimate_mib(net, base, num_colours)
    report(rows, cpu, estimates)
    if args.json:
        write_atomic(args.json, dumps({"rows": rows, "cpu": cpu, "estimates": estimates}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
