"""archcount on the meta device vs torchinfo and fvcore on CPU: time and peak memory, with ratios.

    python bench/bench_scale.py [--timeout 120] [--models resnet50-like,gpt2-medium-like,...]

Each measurement runs in its own subprocess: time = build + count (archcount builds on meta,
the peers need real CPU weights); memory = the child's peak RSS (ru_maxrss) above its RSS after
imports, so torch's own footprint is left out. Imports (torchinfo, fvcore, and the sympy and
torch._dynamo that torch's meta kernels pull in on first use) happen before the clock starts.
A peer that would not fit in memory or runs past the timeout is printed as "skipped (reason)".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = ("archcount", "torchinfo", "fvcore")


def child(tool: str, name: str) -> None:
    """Build `name`, count it with `tool`, print one JSON line of times and memory."""
    import resource

    import torch

    sys.path.insert(0, str(HERE))
    from scale_models import MODELS

    make, shape, dtype = MODELS[name]
    device = "meta" if tool == "archcount" else "cpu"
    _imports(tool)
    base = _rss_mb()
    t0 = time.perf_counter()
    with torch.device(device):
        model = make()
    x = torch.zeros(shape, dtype=dtype, device=device)
    t1 = time.perf_counter()
    result = _count(tool, model, x)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    params = sum(p.numel() for p in model.parameters())
    out = {"build_s": t1 - t0, "count_s": t2 - t1, "mem_mb": peak - base, "params": params}
    print(json.dumps({**out, "result": result}))


def _imports(tool: str) -> None:
    if tool == "archcount":
        import sympy  # noqa: F401 - torch's meta kernels import these lazily on first use:
        import torch._dynamo  # noqa: F401 - counted as imports, for every tool alike

        import archcount.engine.functional
        import archcount.engine.walk  # noqa: F401
    elif tool == "torchinfo":
        import torchinfo  # noqa: F401
    else:
        import fvcore.nn  # noqa: F401


def _count(tool: str, model, x) -> str:
    import torch

    if tool == "archcount":
        from archcount.engine.walk import prepare
        from archcount.recording import count, record

        t = count(model, example_input=x).totals
        f = record(prepare(model, example_input=x)).functional()
        unknown = ", ".join(t.unknown) or "none"
        return f"{t.connections:,} connections (+{f.connections:,} functional), unknown: {unknown}"
    model.eval()
    with torch.no_grad():
        if tool == "torchinfo":
            from torchinfo import summary

            s = summary(model, input_data=x, verbose=0, device="cpu")
            return f"{s.total_mult_adds:,} mult-adds"
        from fvcore.nn import FlopCountAnalysis

        f = FlopCountAnalysis(model, x).unsupported_ops_warnings(False)
        f.uncalled_modules_warnings(False).tracer_warnings("none")
        return f"{int(f.total()):,} flops"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _available_mb() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("inf")


def measure(tool: str, name: str, params: int, timeout: float) -> dict:
    """One subprocess; a dict with `skipped` instead when it cannot or did not finish."""
    need = 3 * params * 4 / 2**20  # fp32 weights, their init, and the peers' own copies
    if tool != "archcount" and need > 0.8 * _available_mb():
        return {"skipped": f"needs ~{need / 1024:.0f} GiB, {_available_mb() / 1024:.0f} free"}
    cmd = [sys.executable, __file__, "--child", tool, name]
    try:
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed: {last[:80]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(names: list[str], timeout: float) -> None:
    """Print a block per model: each tool's times, memory and result, and ratios to archcount."""
    sys.path.insert(0, str(HERE))
    for name in names:
        ours = measure("archcount", name, 0, timeout)
        params = ours.get("params", 0)
        print(f"\n{name}: {params:,} parameters ({params * 4 / 2**30:.2f} GiB as fp32)")
        print(f"  {'tool':<10} {'build s':>8} {'count s':>8} {'total s':>8} {'peak MiB':>9}  ratio")
        for tool in TOOLS:
            m = ours if tool == "archcount" else measure(tool, name, params, timeout)
            if "skipped" in m:
                print(f"  {tool:<10} skipped ({m['skipped']})")
                continue
            total = m["build_s"] + m["count_s"]
            line = f"  {tool:<10} {m['build_s']:8.2f} {m['count_s']:8.2f} {total:8.2f} "
            line += f"{m['mem_mb']:9.0f}  {_ratio(m, ours)}"
            print(line + f"\n  {'':<10} {m['result']}")


def _ratio(m: dict, ours: dict) -> str:
    if m is ours:
        return "1x (baseline)"
    time_ratio = (m["build_s"] + m["count_s"]) / max(ours["build_s"] + ours["count_s"], 1e-9)
    mem_ratio = m["mem_mb"] / max(ours["mem_mb"], 1.0)
    return f"{time_ratio:.1f}x time, {mem_ratio:.1f}x memory"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per measurement")
    parser.add_argument("--models", default="resnet50-like,gpt2-medium-like,decoder-1.3b")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
    else:
        report(args.models.split(","), args.timeout)


if __name__ == "__main__":
    main()
