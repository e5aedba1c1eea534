"""Degree probing along one variable: finite differences on an arithmetic progression.

A sequence is a polynomial of degree d in the variable iff its (d+1)-th differences vanish;
we call the degree confirmed once two such differences are zero. When no degree is
confirmed, the variable breaks polynomiality (floors, parity); a progression with a larger
step (S = 32, 36, 40, …) then finds the residue class on which it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

MODULI = (1, 2, 3, 4, 8, 16)  # steps tried in turn: downsampling factors are small
# Six points at least: a floor(S/4) is constant on four neighbours and would pass for degree 0.
MIN_POINTS, MAX_POINTS = 6, 8  # up to degree 5 in one variable, confirmed by two zeros

Values = Mapping[tuple, int]  # series key -> count at one point


@dataclass(frozen=True)
class Progression:
    """The values base, base+step, … a variable is sampled on, and the degree found."""

    base: int
    step: int
    degree: int
    probed: int = 0  # how many values the probe counted: the range the degree is known on

    def value(self, i: int) -> int:
        """The i-th value of the progression."""
        return self.base + self.step * i

    def span(self) -> tuple[int, int]:
        """The smallest and largest value probed."""
        return self.base, self.value(max(self.probed, self.degree + 1) - 1)

    def nodes(self) -> tuple[int, ...]:
        """degree + 1 values: enough to interpolate in this variable."""
        return tuple(self.value(i) for i in range(self.degree + 1))


@dataclass(frozen=True)
class Broken:
    """Why a step failed: a point that cannot be counted, or the series that are no polynomial."""

    step: int
    unbuildable: str | None  # "k=4: <error>"
    series: tuple[tuple, ...]  # keys whose values fit no polynomial


def degree(seq: Sequence[int]) -> int | None:
    """The confirmed degree of `seq`, or None when fewer than two differences vanish after it."""
    diffs, order = list(seq), 0
    while any(diffs):
        diffs = [b - a for a, b in pairwise(diffs)]
        order += 1
    d = order - 1  # the last non-zero order; -1 for the zero sequence
    return d if len(seq) >= d + 3 else None


def probe(
    name: str, base: int, at: Callable[[int], Values | str]
) -> tuple[Progression, tuple[Broken, ...]]:
    """The first step in MODULI where every series is a polynomial, and why smaller ones failed."""
    failures: list[Broken] = []
    for step in MODULI:
        found = _on_step(name, base, step, at)
        if isinstance(found, Progression):
            return found, tuple(failures)
        failures.append(found)
    return Progression(base, 0, -1), tuple(failures)


def _on_step(name: str, base: int, step: int, at) -> Progression | Broken:
    points: list[Values] = []
    while len(points) < MAX_POINTS:
        value = base + step * len(points)
        got = at(value)
        if isinstance(got, str):
            return Broken(step, f"{name}={value}: {got}", ())
        points.append(got)
        if len(points) < MIN_POINTS:
            continue
        keys = set().union(*points)
        degrees = {key: degree([p.get(key, 0) for p in points]) for key in keys}
        if all(d is not None for d in degrees.values()):
            return Progression(base, step, max(degrees.values(), default=0), len(points))
    return Broken(step, None, tuple(sorted(k for k, d in degrees.items() if d is None)))
