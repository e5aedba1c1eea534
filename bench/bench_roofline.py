"""Predicted time (count --time) against torch.profiler's self time, per model and per row.

    python bench/bench_roofline.py [--device cpu|cuda] [--dtype fp32|bf16] [--quick]
        [--models NAME ...] [--batches 1 32] [--runs 20] [--plot docs/roofline.png] [--by-class]

Models: the three homework nets (defaults, 32×32) and the zoo's small configs
(tests/zoo/zoo_models.py), at batch 1 and 32. Per model and batch: the model's forward runs
after warm-up `--runs` times under the profiler (no grad, eval mode), each aten op's self time
is charged to archcount's row (module hooks open a profiler range per row call, or per
module's own code), and each row's median over the runs is its measured time. Predicted:
archcount.roofline on the same model and input, under a calibration made in this process at
its thread count (--threads, 1 by default; --cached: `archcount calibrate`'s file), with tau
as the profiler charges it (tau_profiled). Printed: per model the whole-forward APE (and, for
information, the plain prediction against the median wall clock of as many forwards with no
profiler and no hooks), per-layer median APE and Spearman rho over rows holding >= 2 % of the
measured time; with --by-class predicted over measured ms per op class, per model and over
all; then the goal lines. Constants are the calibration's, never tuned per model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ("PoolUpsampleNet", "ConvTransposeNet", "UNet")
SHARE = 0.02  # a row is compared per layer when it holds at least 2 % of the measured time
RUN = "ac-run"


def built(name: str, batch: int, device: str, dtype: torch.dtype):
    """(model, args, kwargs) of a homework net or a zoo model on `device` at `batch`."""
    if name in HOMEWORK:
        import models

        model = getattr(models, name)().to(device=device, dtype=dtype).eval()
        return model, (torch.randn(batch, 1, 32, 32, device=device, dtype=dtype),), {}
    sys.path.insert(0, str(ROOT))
    from tests.zoo.zoo_models import build

    model, args, kwargs = build(name, device, batch)
    model = model.to(dtype=dtype)
    cast = {k: v.to(dtype) if v.is_floating_point() else v for k, v in kwargs.items()}
    return model, tuple(a.to(dtype) if a.is_floating_point() else a for a in args), cast


def row_of(label: str, owner: str | None) -> str:
    """Rows compared: a module call's, or one per module's own code (its ops together)."""
    return label if owner is None else f"{owner} (own code)"


def traced(model, args, kwargs, name: str):
    """archcount.roofline's OpCosts of one forward of the model on its input."""
    from archcount.engine.walk import prepare
    from archcount.roofline.trace import trace_ops

    prepared = prepare(model, None, args or None, torch.float32, None, kwargs, None)
    return trace_ops(prepared, name)


def predicted(ops, hardware) -> dict[str, float]:
    """Predicted seconds per compared row under `hardware`."""
    from archcount.roofline.predict import rows_of

    out: dict[str, float] = defaultdict(float)
    for r in rows_of(ops, hardware, False):
        out[row_of(r.label, r.owner)] += r.forward.predicted_s
    return dict(out)


def by_class(ops, hardware) -> dict[str, tuple[float, float, float]]:
    """Predicted (compute, memory, tau) seconds per op class."""
    from archcount.roofline.predict import op_time

    out: dict[str, tuple[float, float, float]] = {}
    for op in ops:
        c = op_time(op, hardware)
        was = out.get(op.op_class.value, (0.0, 0.0, 0.0))
        out[op.op_class.value] = (was[0] + c.compute_s, was[1] + c.memory_s,
                                  was[2] + c.overhead_s)  # fmt: skip
    return out


def measured(model, args, kwargs, name: str, runs: int, device: str):
    """Median self time per compared row, and per op class, over `runs` profiled forwards
    (after warm-up)."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from archcount.engine.rules import RULES
    from archcount.engine.stack import OWN, ModuleStack
    from archcount.records import call_label

    def enter(frame):
        if frame.call >= 0:
            kind = "own" if frame.role is OWN else "row"
            frame.range = record_function(f"ac-{kind}|{call_label(frame.name, frame.call)}")
            frame.range.__enter__()

    def leave(frame, out):
        if frame.call >= 0:
            frame.range.__exit__(None, None, None)

    with torch.no_grad():
        for _ in range(3):
            model(*args, **kwargs)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    stack = ModuleStack(model, RULES, name, enter=enter, leave=leave)
    with torch.no_grad(), stack, profile(activities=activities) as prof:
        for i in range(runs):
            stack.calls.clear()  # every run's calls numbered from the first, as the count's
            with record_function(f"{RUN}{i}"):
                model(*args, **kwargs)
            if device == "cuda":
                torch.cuda.synchronize()
    return _medians(prof.events(), runs, device)


def wall(model, args, kwargs, runs: int, device: str) -> float:
    """Median wall-clock seconds of one forward with no profiler and no hooks (warmed up)."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    with torch.no_grad():
        for i in range(runs + 3):
            t0 = time.perf_counter()
            model(*args, **kwargs)
            sync()
            if i >= 3:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


GEMMS = frozenset(("linear", "matmul", "mm", "addmm", "bmm", "baddbmm", "einsum", "mv", "addmv"))


def op_class(name: str) -> str:
    """The op class of a profiled aten op by its name (what the user's code called)."""
    if "conv" in name:
        return "conv"
    if "attention" in name:
        return "attention"
    return "gemm" if name in GEMMS else "elementwise"


def _medians(events, runs: int, device: str):
    """Each row's median seconds over the runs (its aten ops' self time summed per run), and
    each op class's: an event's class is that of its outermost aten op."""
    per_run: dict[str, list[float]] = defaultdict(lambda: [0.0] * runs)
    per_class: dict[str, list[float]] = defaultdict(lambda: [0.0] * runs)
    for e in events:
        if not e.name.startswith("aten::"):
            continue
        row, run, top = None, None, e.name
        p = e.cpu_parent
        while p is not None:
            if row is None and p.name.startswith("ac-"):
                kind, label = p.name[3:].split("|", 1)
                row = label if kind == "row" else f"{label} (own code)"
            if p.name.startswith(RUN):
                run = int(p.name[len(RUN) :])
            top = p.name if p.name.startswith("aten::") else top
            p = p.cpu_parent
        us = e.self_device_time_total if device == "cuda" else e.self_cpu_time_total
        if run is not None:
            per_run[row or "(outside modules)"][run] += us * 1e-6
            per_class[op_class(top[6:])][run] += us * 1e-6
    rows = {row: statistics.median(times) for row, times in per_run.items()}
    return rows, {c: statistics.median(times) for c, times in per_class.items()}


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rho: Pearson's r of the ranks (ties share their mean rank)."""
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den if den else None


def _ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=xs.__getitem__)
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def ape(pred: float, meas: float) -> float:
    """Absolute percentage error of a prediction."""
    return abs(pred - meas) / meas * 100


def compare(pred: dict[str, float], meas: dict[str, float]):
    """(whole APE, [(row, predicted, measured)] over rows with >= 2 % of the measured time)."""
    total = sum(meas.values())
    whole = ape(sum(pred.values()), total)
    rows = [(r, pred.get(r, 0.0), m) for r, m in meas.items() if m >= SHARE * total]
    return whole, rows


def percentile(xs: list[float], q: float) -> float:
    """The q-th percentile, linearly interpolated."""
    xs = sorted(xs)
    k = (len(xs) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def hardware_for(device: str, quick: bool, cached: bool):
    """The machine's peaks: calibrated now at this process's thread count (not cached), or
    with `cached` the calibration `archcount calibrate` left (calibrated first if none)."""
    from archcount.roofline.calibrate import calibrate
    from archcount.roofline.hardware import load, save

    hw = load(device) if cached else None
    if hw is None:
        print(f"calibrating {device}", file=sys.stderr)
        hw = calibrate(device, 4.0 if quick else 20.0, lambda line: print(line, file=sys.stderr))
        if cached:
            save(hw)
    return hw


def one(name: str, batch: int, args, hw):
    """(whole-forward APE against the profiler and against the wall clock, the compared rows,
    rho, predicted and measured per class) of one model at one batch; prints its line."""
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model, inputs, kwargs = built(name, batch, args.device, dtype)
    ops = traced(model, inputs, kwargs, name)
    pred = predicted(ops, hw.profiled())  # against the profiler: tau as it charges it
    meas, classes = measured(model, inputs, kwargs, name, args.runs, args.device)
    clock = wall(model, inputs, kwargs, args.runs, args.device)
    against_wall = ape(sum(predicted(ops, hw).values()), clock)  # plain tau: no profiler
    whole, rows = compare(pred, meas)
    layer = statistics.median(ape(p, m) for _, p, m in rows) if rows else float("nan")
    rho = spearman([p for _, p, _ in rows], [m for _, _, m in rows])
    shown = "   n/a" if rho is None else f"{rho:6.2f}"
    total = sum(pred.values())
    print(
        f"{name:<18}{batch:>4}  {sum(meas.values()) * 1e3:9.3f}  {clock * 1e3:9.3f}  "
        f"{total * 1e3:9.3f}  {whole:7.1f}  {against_wall:7.1f}  {len(rows):>4}  "
        f"{layer:8.1f}  {shown}",
        flush=True,
    )
    split = by_class(ops, hw.profiled())
    if args.by_class:
        print("    " + "  ".join(_class_cell(c, split.get(c), classes.get(c)) for c in CLASSES))
    return whole, against_wall, rows, rho, split, classes


CLASSES = ("gemm", "conv", "attention", "elementwise")


def _class_cell(name: str, pred, meas) -> str:
    """'conv 1.20/2.30 ms': predicted over measured, ms ('-' when none)."""
    p = "-" if pred is None else f"{sum(pred) * 1e3:.2f}"
    m = "-" if meas is None else f"{meas * 1e3:.2f}"
    return f"{name} {p}/{m}"


def class_table(splits, measured_classes) -> None:
    """Per op class over every run: predicted compute, memory, tau and total against the
    measured self time of the ops it classes so, ms summed."""
    print(f"\n{'class':<12}{'compute':>10}{'memory':>10}{'tau':>10}{'predicted':>11}"
          f"{'measured':>10}{'meas/pred':>10}")  # fmt: skip
    for c in CLASSES:
        parts = [sum(s.get(c, (0.0,) * 3)[i] for s in splits) * 1e3 for i in range(3)]
        meas = sum(m.get(c, 0.0) for m in measured_classes) * 1e3
        ratio = f"{meas / sum(parts):10.2f}" if sum(parts) else f"{'-':>10}"
        print(f"{c:<12}" + "".join(f"{x:10.2f}" for x in parts)
              + f"{sum(parts):11.2f}{meas:10.2f}{ratio}")  # fmt: skip


def plot(points: list[tuple[str, int, float, float]], path: str, hw) -> None:
    """Predicted against measured per compared row, log-log, written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from archcount.files import write_atomic

    fig, ax = plt.subplots(figsize=(5, 5), dpi=90)
    for batch, marker in ((1, "o"), (32, "^")):
        xs = [m * 1e6 for _, b, _, m in points if b == batch]
        ys = [p * 1e6 for _, b, p, _ in points if b == batch]
        ax.scatter(xs, ys, s=12, marker=marker, alpha=0.6, label=f"batch {batch}")
    lo = min(min(p, m) for *_, p, m in points) * 1e6
    hi = max(max(p, m) for *_, p, m in points) * 1e6
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="predicted = measured")
    ax.set(xscale="log", yscale="log", xlabel="measured self time (µs)",
           ylabel="predicted (µs)", title=f"rows with ≥ 2 % of a forward; {hw.name}")  # fmt: skip
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    write_atomic(path, buf.getvalue(), "--plot")


def main() -> None:
    """Every model at every batch: a line each, then the goal lines (and the plot)."""
    sys.path.insert(0, str(ROOT))
    from tests.zoo.zoo_models import ZOO

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--models", nargs="+", default=[*HOMEWORK, *ZOO])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--plot", metavar="FILE.png")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: a shared box)")
    parser.add_argument("--cached", action="store_true", help="use archcount calibrate's file")
    parser.add_argument(
        "--by-class", action="store_true", help="predicted vs measured per op class"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 runs, batch 1")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.batches = 3, [1]
    torch.set_num_threads(args.threads)  # more threads than free cores wait a time slice each
    hw = hardware_for(args.device, args.quick, args.cached)
    header(hw, args)
    wholes, walls, layers, rhos, points, splits, classes = [], [], [], [], [], [], []
    for name in args.models:
        for batch in args.batches:
            whole, against_wall, rows, rho, split, meas = one(name, batch, args, hw)
            splits.append(split)
            classes.append(meas)
            wholes.append(whole)
            walls.append(against_wall)
            layers += [ape(p, m) for _, p, m in rows]
            rhos += [] if rho is None else [rho]
            points += [(name, batch, p, m) for _, p, m in rows]
    if args.by_class:
        class_table(splits, classes)
    goals(wholes, layers, rhos, walls)
    if args.plot and points:
        plot(points, args.plot, hw)


def header(hw, args) -> None:
    """What the run assumes (the calibration's figures) and the table's head."""
    print(f"hardware: {hw.name} ({hw.source}); {args.dtype}, median of {args.runs} runs")
    print(
        "pi fp32 GMAC/s: "
        + ", ".join(f"{c} {r['float32'] / 1e9:.1f}" for c, r in hw.pi.items())
        + f"; beta {hw.beta / 1e9:.1f} GB/s; tau µs: "
        + ", ".join(f"{c} {t * 1e6:.2f}" for c, t in hw.tau.items())
        + "; profiled: "
        + ", ".join(f"{c} {t * 1e6:.2f}" for c, t in hw.tau_profiled.items())
    )
    print(f"{'model':<18}{'B':>4}  {'prof ms':>9}  {'wall ms':>9}  {'pred ms':>9}  "
          f"{'APE %':>7}  {'wall %':>7}  {'rows':>4}  {'layer %':>8}  {'rho':>6}")  # fmt: skip


def goals(wholes: list[float], layers: list[float], rhos: list[float], walls) -> None:
    """The issue's goal lines, each with the figure it got and whether it is met; then the
    whole forward against the wall clock (no profiler), for information."""

    def line(what: str, value: float, goal: str, met: bool) -> None:
        print(f"{what:<44} {value:8.2f}  goal {goal:<8} {'met' if met else 'NOT met'}")

    print()
    w50, w90 = statistics.median(wholes), percentile(wholes, 90)
    line("whole forward: median APE %", w50, "<= 20", w50 <= 20)
    line("whole forward: 90th percentile APE %", w90, "<= 40", w90 <= 40)
    if layers:
        m = statistics.median(layers)
        line(f"per layer ({len(layers)} rows >= 2 %): median APE %", m, "<= 30", m <= 30)
    if rhos:
        r = statistics.median(rhos)
        line(f"per layer: median Spearman rho ({len(rhos)} runs)", r, ">= 0.9", r >= 0.9)
    print(f"{'(whole forward vs wall clock, no profiler: median APE %)':<52} "
          f"{statistics.median(walls):8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
