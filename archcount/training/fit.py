"""The largest batch whose estimated peak fits a memory size: peak(B) = a + b·B, solved.

The estimate is affine in the batch for a net whose tensors all carry it; two passes (B = 1, 2)
give a and b, the solution is floor((limit − a) / b), and passes at the solution and one above
confirm it (a net whose cost is not affine in B is refused rather than searched).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from archcount.errors import InputError
from archcount.training.cost import TrainingCost

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_bytes(text: str) -> int:
    """'80GiB' -> 85899345920, '16GB' -> 16·10⁹, '512MiB', '1000' (bytes)."""
    m = _SIZE.fullmatch(text)
    if not m or m.group(2).lower() not in _UNITS:
        raise InputError(f"--fit wants a size like 80GiB, 16GB or 512MiB, got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@dataclass(frozen=True)
class Fit:
    """The largest batch that fits `limit`, the affine peak, and the confirming passes."""

    limit: int
    batch: int  # 0: not even one example fits
    fixed: int  # a: bytes held whatever the batch
    per_example: int  # b
    peak: int  # the estimated peak at `batch` (a pass, not the line)
    peak_next: int  # at batch + 1

    def to_dict(self) -> dict[str, int]:
        """The JSON `fit` object."""
        return {
            "limit_bytes": self.limit,
            "batch": self.batch,
            "fixed_bytes": self.fixed,
            "per_example_bytes": self.per_example,
            "peak_bytes": self.peak,
            "peak_bytes_next": self.peak_next,
        }


def fit_batch(cost_at: Callable[[int], TrainingCost], limit: int) -> Fit:
    """Solve a + b·B ≤ limit for the largest B; confirm with passes at B and B + 1."""
    one, two = cost_at(1).peak_bytes, cost_at(2).peak_bytes
    per = two - one
    fixed = one - per
    if per <= 0:
        raise InputError("the estimated peak does not grow with the batch: no batch to fit")
    batch = max(0, (limit - fixed) // per)
    at = fixed + per * batch if batch == 0 else cost_at(batch).peak_bytes
    nxt = cost_at(batch + 1).peak_bytes
    if at != fixed + per * batch or nxt != fixed + per * (batch + 1):
        raise InputError(
            f"the estimated peak is not affine in the batch (at B={batch}: {at} bytes, "
            f"the line through B=1, 2 gives {fixed + per * batch}): --fit cannot solve it"
        )
    return Fit(limit, batch, fixed, per, at, nxt)
