"""archcount's full count vs FlopCounterMode on meta, per zoo model, each in its own process.

    python bench/bench_zoo.py                   # every model, transformers' default configs
    python bench/bench_zoo.py --models gpt2,vit --repeat 3

For each model, two fresh processes take turns (archcount, FlopCounterMode, archcount, ...):
After a first build of the model (so that transformers' imports are not timed), archcount
runs the CLI's whole count (`archcount hf:NAME --device meta`: build, hooks, the
functional ops added to the totals); FlopCounterMode builds the same model on meta and runs
one forward under it. Both build the model the same way (front.zoo, default inputs). Printed
per model: the counting time alone (process time around the count, best of --repeat), the
whole process's CPU time and its peak RSS, and archcount ÷ FlopCounterMode for each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

MODELS = [
    "gpt2", "bert", "llama", "mistral", "t5", "whisper",
    "vit", "swin", "resnet", "convnext", "mobilenet_v2", "efficientnet", "regnet",
]  # fmt: skip


def worker(tool: str, name: str) -> dict:
    """Run one tool on one model in this process; its counting time and its totals."""
    import torch

    from archcount.front.zoo import zoo_factory

    with torch.device("meta"):  # imports the model's modules, for both tools alike
        zoo_factory(f"hf:{name}")()
    if tool == "archcount":
        from archcount.front.counted import count_request
        from archcount.front.request import CountRequest

        start = time.process_time()
        request = CountRequest(target=f"hf:{name}", device="meta")
        counted = count_request(request, add_functional=True)
        seconds = time.process_time() - start
        return {"seconds": seconds, "connections": counted.report.totals.connections}
    from torch.utils.flop_counter import FlopCounterMode

    start = time.process_time()
    factory = zoo_factory(f"hf:{name}")
    with torch.device("meta"):
        model = factory().eval()
    specs = factory.default_inputs(model, 1, None)
    args = tuple(s.tensor("meta") for s in specs if not s.name)
    kwargs = {s.name: s.tensor("meta") for s in specs if s.name}
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*args, **kwargs)
    seconds = time.process_time() - start
    return {"seconds": seconds, "macs": counter.get_total_flops() // 2}


def run_child(tool: str, name: str) -> dict:
    """One fresh process: its own counting time, whole CPU time and peak RSS (MiB)."""
    cmd = [sys.executable, __file__, "--worker", tool, name]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    proc.stdout.close()
    if status != 0:
        return {"error": f"exit {status >> 8}"}
    data = json.loads(out.strip().splitlines()[-1])
    data["cpu"] = usage.ru_utime + usage.ru_stime
    data["rss"] = usage.ru_maxrss / 1024  # KiB on Linux
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeat", type=int, default=1, help="processes per tool and model")
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "MODEL"), help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        print(json.dumps(worker(*opts.worker)))
        return
    head = f"{'model':<13} {'count s':>8} {'FCM s':>7} {'ratio':>6}  {'proc s':>7} {'FCM':>6}"
    print(head + f" {'ratio':>6}  {'RSS MiB':>8} {'FCM':>6} {'ratio':>6}")
    for name in opts.models.split(","):
        runs: dict[str, list[dict]] = {"archcount": [], "flopcounter": []}
        for _ in range(opts.repeat):  # alternated, so both see the same machine load
            for tool in runs:
                runs[tool].append(run_child(tool, name))
        bad = [r["error"] for rs in runs.values() for r in rs if "error" in r]
        if bad:
            print(f"{name:<13} failed: {bad[0]}")
            continue
        ours, theirs = (
            {k: min(r[k] for r in runs[t]) for k in ("seconds", "cpu", "rss")} for t in runs
        )
        cells = []
        for k in ("seconds", "cpu", "rss"):
            cells.append(f"{ours[k]:>8.2f} {theirs[k]:>7.2f} {ours[k] / theirs[k]:>6.2f}")
        print(f"{name:<13} " + "  ".join(cells))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this driver's own peak RSS: {peak:.0f} MiB; min over {opts.repeat} run(s) each)")


if __name__ == "__main__":
    main()
