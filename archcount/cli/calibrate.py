"""`archcount calibrate`: measure this machine's peaks for `count --time` and cache them."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from archcount.cli.options import Debug, Json, echo_json, user_errors


class CalibrateDevice(str, Enum):
    """Where the peaks are measured."""

    CPU = "cpu"
    CUDA = "cuda"


def calibrate_command(
    device: Annotated[
        CalibrateDevice, typer.Option("--device", help="Measure the CPU or the CUDA device.")
    ] = CalibrateDevice.CPU,
    seconds: Annotated[
        float,
        typer.Option("--seconds", min=1, max=30, help="Time to spend measuring (at most 30)."),
    ] = 20.0,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Measure pi (GEMM, conv, attention, element-wise; per dtype; and on little work), 21
    element-wise ops on their own, beta (a stream-like add, and within a core's cache) and tau
    (per op class; and as torch.profiler charges it) for [bold]count --time[/].

    Cached as plain JSON in $XDG_CACHE_HOME/archcount (else ~/.cache/archcount).

    Spec-sheet presets need none: [bold]--hardware h100-sxm[/] (or h200-sxm, a100-sxm-80gb).
    """
    with user_errors(debug):
        from archcount.roofline.calibrate import calibrate
        from archcount.roofline.hardware import save

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        hardware = calibrate(device.value, seconds, progress)
        path = save(hardware)
        if json_out:
            echo_json({"path": str(path), **hardware.to_dict()})
        else:
            print(f"saved {path}")
