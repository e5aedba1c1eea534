"""One spatial dimension's receptive field: which input positions each output position reads.

A field is periodic: output position c + m·period reads reads[c] + m·shift (input positions
of the network's input, borders ignored: the input is taken as unbounded, so zero padding and
border clamping never cut a field). A plain conv chain has period 1; after upsampling or a
strided transposed conv, several output positions share one input step and may read fields
of different sizes. The same record describes one layer's own local map (positions of its
input) and a tensor's field (positions of the network's input): composing them is `after`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import gcd, lcm


class Mismatch(ValueError):
    """Two fields that cannot be merged into one periodic field (different jumps)."""


@dataclass(frozen=True)
class Field:
    """Output position c + m·period reads input positions reads[c] + m·shift."""

    period: int
    shift: int
    reads: tuple[frozenset[int], ...]

    def __post_init__(self) -> None:
        assert self.period >= 1 and self.shift >= 0 and len(self.reads) == self.period

    @classmethod
    def identity(cls) -> Field:
        """Each position reads itself (the network's input)."""
        return cls(1, 1, (frozenset({0}),))

    @classmethod
    def window(cls, offsets: Iterable[int], stride: int = 1) -> Field:
        """Output i reads i·stride + each offset (conv, pool, pad, crop: period 1)."""
        return cls(1, stride, (frozenset(offsets),))

    @classmethod
    def of(cls, period: int, shift: int, reads: Iterable[Iterable[int]]) -> Field:
        """A field from per-residue positions, reduced to its smallest period."""
        return cls(period, shift, tuple(frozenset(r) for r in reads)).reduced()

    def at(self, position: int) -> frozenset[int]:
        """The input positions output `position` reads."""
        m, c = divmod(position, self.period)
        return frozenset(x + m * self.shift for x in self.reads[c])

    def after(self, inner: Field) -> Field:
        """This local map applied to `inner`'s output: positions of `inner`'s input."""
        steps = inner.period // gcd(inner.period, self.shift)  # own periods per inner period
        period = self.period * steps
        shift = steps * self.shift // inner.period * inner.shift
        reads = []
        for c in range(period):
            reads.append(frozenset().union(*(inner.at(x) for x in self.at(c))))
        return Field.of(period, shift, reads)

    def union(self, other: Field) -> Field:
        """Positions read by either field (a residual add, a concatenation)."""
        if self.shift * other.period != other.shift * self.period:
            raise Mismatch(f"jumps {self.jump} and {other.jump} differ")
        period = lcm(self.period, other.period)
        shift = self.shift * (period // self.period)
        return Field.of(period, shift, [self.at(c) | other.at(c) for c in range(period)])

    def reduced(self) -> Field:
        """The same field on its smallest period."""
        for p in range(1, self.period):
            if self.period % p or (self.shift * p) % self.period:
                continue
            step = self.shift * p // self.period
            if all(self.at(c + p) == frozenset(x + step for x in self.at(c)) for c in range(p)):
                return Field(p, step, self.reads[:p])
        return self

    @property
    def sizes(self) -> tuple[int, ...]:
        """Extent (last − first + 1, 0 when empty) of the field of each position of a period."""
        return tuple(max(r) - min(r) + 1 if r else 0 for r in self.reads)

    @property
    def largest(self) -> int:
        """The largest extent over output positions."""
        return max(self.sizes)

    @property
    def smallest(self) -> int:
        """The smallest extent over output positions."""
        return min(self.sizes)

    @property
    def jump(self) -> Fraction:
        """Input positions per output position (the effective stride)."""
        return Fraction(self.shift, self.period)

    @property
    def offset(self) -> int | None:
        """The first input position output 0 reads (negative: in the padding), None if none."""
        return min(self.reads[0]) if self.reads[0] else None


GLOBAL_BROADCAST = Field(1, 0, (frozenset({0}),))  # a size-1 dim broadcast over every position
