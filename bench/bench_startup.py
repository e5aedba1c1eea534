"""Start-up: `archcount models.PoolUpsampleNet` against `python -c "import torch"`, medians.

    python bench/bench_startup.py [--runs 7]

The commands run interleaved (one of each per round) so background load hits them alike.
The target is a ratio <= 1.3. The default --device auto counts small models with a real CPU
pass; `--device meta` is shown beside it because torch's meta kernels (and any
TorchDispatchMode) import torch._dynamo and sympy on first use: the last line is that floor.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

PY = sys.executable
ARCHCOUNT = shutil.which("archcount") or "archcount"
COMMANDS = {
    'python -c "import torch"': [PY, "-c", "import torch"],
    "archcount models.PoolUpsampleNet": [ARCHCOUNT, "models.PoolUpsampleNet"],
    "archcount models.PoolUpsampleNet --device meta": [
        ARCHCOUNT,
        "models.PoolUpsampleNet",
        "--device",
        "meta",
    ],
    "archcount --help": [ARCHCOUNT, "--help"],
    'python -c "import torch, torch._dynamo"  (meta floor)': [
        PY,
        "-c",
        "import torch, torch._dynamo",
    ],
}


def wall(cmd: list[str]) -> float:
    """Seconds one run of `cmd` takes, output discarded."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    for cmd in COMMANDS.values():  # warm the file cache once
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, cmd in COMMANDS.items():
            times[name].append(wall(cmd))
    base = statistics.median(times['python -c "import torch"'])
    print(f"median of {runs} runs each, interleaved")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<52} {med:6.2f} s  {med / base:5.2f}x")


if __name__ == "__main__":
    main()
