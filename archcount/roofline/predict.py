"""OpCosts -> per-row bytes, intensity, bound and predicted time under one Hardware.

Per op: t = max((MACs + half_work) / pi, bytes / beta) + tau, pi, half_work and tau those of
its class (pi of its dtype too): a class runs at pi * MACs / (MACs + half_work), below its peak
on little work. The bytes are those it touches (ops.touched), beta the cache's (beta_cache)
when they fit in the per-core cache. A row sums its ops and splits its time three ways: the
compute time of its compute-bound ops, the memory time of its memory-bound ops, and tau per
op; what binds is the largest part. Without a Hardware every
time, and so the bound, is unknown (None): bytes and MACs stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from archcount.roofline.hardware import Hardware
from archcount.roofline.ops import OpCost


class Bound(str, Enum):
    """What a row's predicted time is mostly made of."""

    COMPUTE = "compute"
    MEMORY = "memory"
    OVERHEAD = "overhead"


@dataclass(frozen=True)
class Cost:
    """Ops summed, whole batch: MACs, bytes, and the time split (None without a Hardware)."""

    ops: int = 0
    macs: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    compute_s: float | None = 0.0
    memory_s: float | None = 0.0
    overhead_s: float | None = 0.0

    def __add__(self, other: Cost) -> Cost:
        def plus(a, b):
            return None if a is None or b is None else a + b

        return Cost(
            self.ops + other.ops,
            self.macs + other.macs,
            self.bytes_read + other.bytes_read,
            self.bytes_written + other.bytes_written,
            plus(self.compute_s, other.compute_s),
            plus(self.memory_s, other.memory_s),
            plus(self.overhead_s, other.overhead_s),
        )

    @property
    def bytes(self) -> int:
        """Bytes read plus written."""
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self) -> float | None:
        """MACs per byte moved (None when nothing moved)."""
        return self.macs / self.bytes if self.bytes else None

    @property
    def predicted_s(self) -> float | None:
        """Compute, memory and overhead time summed (None without a Hardware)."""
        if self.compute_s is None or self.memory_s is None or self.overhead_s is None:
            return None
        return self.compute_s + self.memory_s + self.overhead_s

    @property
    def bound(self) -> Bound | None:
        """The largest part of the predicted time (None without one, or with no ops)."""
        if self.predicted_s is None or not self.ops:
            return None
        parts = {Bound.COMPUTE: self.compute_s, Bound.MEMORY: self.memory_s}
        parts[Bound.OVERHEAD] = self.overhead_s
        return max(parts, key=parts.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        """The JSON keys of a row's time."""
        return {
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "intensity": self.intensity,
            "bound": None if self.bound is None else self.bound.value,
            "predicted_s": self.predicted_s,
            "macs": self.macs,
            "ops": self.ops,
        }


def op_time(op: OpCost, hw: Hardware | None) -> Cost:
    """One op's Cost: the slower of compute and memory, plus tau."""
    if hw is None:
        return Cost(1, op.macs, op.bytes_read, op.bytes_written, None, None, None)
    compute = hw.compute_s(op.op_class, op.dtype, op.macs, op.op, op.narrow, op.grouped)
    memory = op.moved / hw.bandwidth(op.moved)  # bytes touched: a gather its rows, not its table
    c, m = (compute, 0.0) if compute >= memory else (0.0, memory)
    return Cost(
        1, op.macs, op.bytes_read, op.bytes_written, c, m, hw.overhead(op.op_class, op.view)
    )


@dataclass(frozen=True)
class TimeRow:
    """One row's forward Cost, and its backward's under training (else None)."""

    label: str
    owner: str | None  # a module's own code: that module (the row is 'owner (aten.op)')
    forward: Cost
    backward: Cost | None

    @property
    def module(self) -> str:
        """The module the row belongs to: its call's name, or the owner of its code."""
        return self.owner if self.owner is not None else self.label.split(" (call ")[0]

    def to_dict(self) -> dict[str, Any]:
        """Forward keys flat; `backward` an object of the same keys (training only)."""
        data = {"label": self.label, **self.forward.to_dict()}
        if self.backward is not None:
            data["backward"] = self.backward.to_dict()
        return data


def rows_of(ops: list[OpCost], hw: Hardware | None, training: bool) -> tuple[TimeRow, ...]:
    """One TimeRow per row label, in the order each first ran."""
    forward: dict[str, Cost] = {}
    backward: dict[str, Cost] = {}
    owners: dict[str, str | None] = {}
    for op in ops:
        owners.setdefault(op.row, op.owner)
        side = backward if op.backward else forward
        side[op.row] = side.get(op.row, Cost()) + op_time(op, hw)
    empty = Cost() if hw is not None else Cost(0, 0, 0, 0, None, None, None)
    return tuple(
        TimeRow(
            label,
            owner,
            forward.get(label, empty),
            backward.get(label, empty) if training else None,
        )
        for label, owner in owners.items()
    )
