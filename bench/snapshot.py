"""Every number archcount prints for the homework nets and the zoo, as one JSON file.

Run it before and after a change that must not move any number, then diff the two files:

    python bench/snapshot.py /tmp/before.json      # on the old commit
    python bench/snapshot.py /tmp/after.json       # on the new one
    diff /tmp/before.json /tmp/after.json && echo identical

Each case is a command line of `archcount` run in this process with `--json`: the count,
its functional ops, declared formulas, --training (backward MACs, saved bytes, peak),
--receptive-field and --cross-check, on meta and on CPU, at batch 1 and 2.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "zoo"))  # the zoo's configs, written once there

from zoo_models import ZOO  # noqa: E402

from archcount.cli.app import app  # noqa: E402

HOMEWORK = ("models.PoolUpsampleNet", "models.ConvTransposeNet", "models.UNet")
VISION = {"vit", "swin", "resnet", "convnext", "mobilenet_v2", "regnet"}


# Each homework net under the options a user varies: name -> options after the net's own.
HOMEWORK_OPTIONS = {
    "k3": "--training --receptive-field --cross-check",
    "k5-s64-b2": "--k 5 --size 64 --batch 2 --training --optimizer sgd",
    "modules-nobias": "--convention modules --ignore-bias --ignore-norm --depth 1",
    "meta-bf16-freeze": "--device meta --training --dtype bf16 --freeze layer1.*",
}


def homework_cases() -> dict[str, list[str]]:
    """Each homework net (NIC 1, NF 8, NC 24) under each of HOMEWORK_OPTIONS."""
    base = ["--nic", "1", "--nf", "8", "--nc", "24"]
    return {
        f"{net.split('.')[1]}/{name}": [net, *base, *options.split()]
        for net in HOMEWORK
        for name, options in HOMEWORK_OPTIONS.items()
    }


def zoo_args(model_type: str) -> list[str]:
    """`hf:TYPE --arg NAME=VALUE ...` for one zoo entry, at its input shape."""
    overrides, shape = ZOO[model_type]
    args = [f"hf:{model_type}"]
    for key, value in overrides.items():
        args += ["--arg", f"{key}={value!r}"]
    if shape is not None:
        args += ["--input-shape", ",".join(map(str, shape))]
    return args


def zoo_cases() -> dict[str, list[str]]:
    """Every zoo model on meta and CPU, batch 1 and 2; training and fields where they apply."""
    cases = {}
    for model_type in ZOO:
        base = zoo_args(model_type)
        extra = ["--receptive-field"] if model_type in VISION else []
        cases[f"{model_type}/meta"] = [*base, "--device", "meta", "--training", *extra]
        cases[f"{model_type}/cpu"] = [*base, "--device", "cpu", "--training", *extra]
        cases[f"{model_type}/meta-b2"] = [*base, "--device", "meta", "--batch", "2"]
    return cases


def run(args: list[str]) -> object:
    """The JSON `archcount ARGS --json` prints (or its exit code and output on failure)."""
    result = CliRunner().invoke(app, [*args, "--json"])
    if result.exit_code != 0:
        return {"exit_code": result.exit_code, "output": result.output}
    return json.loads(result.stdout)


def main(out: str, only: str = "") -> None:
    cases = {**homework_cases(), **zoo_cases()}
    snapshot = {}
    for name, args in cases.items():
        if only and only not in name:
            continue
        start = time.perf_counter()
        snapshot[name] = run(args)
        print(f"{name:32s} {time.perf_counter() - start:6.2f} s", file=sys.stderr)
    Path(out).write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
