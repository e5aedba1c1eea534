"""The --time view of a prepared run: its rows, totals, --depth subtotals and what it assumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from archcount.engine.walk import Prepared
from archcount.roofline.hardware import Hardware
from archcount.roofline.predict import Cost, TimeRow, rows_of
from archcount.roofline.trace import trace_ops


@dataclass(frozen=True)
class TimeReport:
    """Predicted time per row under `hardware` (None: not calibrated, times unknown)."""

    hardware: Hardware | None
    root: str  # the model's row name: its own code's rows are its, whatever dots it holds
    assumes: str  # one line: the hardware the times assume, or how to get one
    batch: int
    training: bool
    rows: tuple[TimeRow, ...]
    forward: Cost = field(init=False)
    backward: Cost | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forward", _sum(r.forward for r in self.rows))
        back = _sum(r.backward for r in self.rows if r.backward is not None)
        object.__setattr__(self, "backward", back if self.training else None)

    def by_label(self) -> dict[str, TimeRow]:
        """Each row by its label."""
        return {r.label: r for r in self.rows}

    def subtotals(self, depth: int) -> list[TimeRow]:
        """Rows summed per module at `depth` (1: the model's children), in order of first run."""
        groups: dict[str, list[TimeRow]] = {}
        for r in self.rows:
            name = r.module if r.module == self.root else ".".join(r.module.split(".")[:depth])
            groups.setdefault(name, []).append(r)
        return [
            TimeRow(
                name,
                None,
                _sum(r.forward for r in rows),
                _sum(r.backward for r in rows) if self.training else None,
            )
            for name, rows in groups.items()
        ]

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """JSON: what it assumes, the totals, every row (and the subtotals at `depth`)."""
        data: dict[str, Any] = {
            "assumes": self.assumes,
            "hardware": None if self.hardware is None else self.hardware.to_dict(),
            "batch": self.batch,
            "forward": self.forward.to_dict(),
            "backward": None if self.backward is None else self.backward.to_dict(),
            "rows": [r.to_dict() for r in self.rows],
        }
        if depth is not None:
            data["modules"] = [r.to_dict() for r in self.subtotals(depth)]
        return data


def _sum(costs) -> Cost:
    return reduce(Cost.__add__, costs, Cost())


def assumption(hardware: Hardware | None, asked: str) -> str:
    """The line saying which peaks the times assume, or how to get some."""
    if hardware is None:
        return (
            f"no calibration of {asked}: times unknown; run `archcount calibrate --device "
            f"{asked}` (or pass --hardware h100-sxm, h200-sxm, a100-sxm-80gb: spec-sheet presets)"
        )
    return (
        f"times assume {hardware.name} ({hardware.source}): beta {hardware.beta / 1e9:,.1f} GB/s, "
        "tau " + ", ".join(f"{c} {t * 1e6:.2f}" for c, t in hardware.tau.items()) + " µs"
    )


def time_report(
    prepared: Prepared, root: str, hardware: Hardware | None, asked: str, training: bool = False
) -> TimeReport:
    """Bytes, intensity, bound and predicted time per row of one forward (and its backward)."""
    ops = trace_ops(prepared, root, training)
    rows = rows_of(ops, hardware, training)
    return TimeReport(hardware, root, assumption(hardware, asked), prepared.batch, training, rows)
