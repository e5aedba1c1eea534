"""Conv and transposed-conv shape equations, and every padding that gives a wanted size.

Per spatial dim (PyTorch's docs of nn.Conv2d / nn.ConvTranspose2d), with span = d(k-1)+1:
    conv:        out = floor((in + before + after - span) / s) + 1
    transposed:  out = (in - 1)s + span - 2p + output_padding,  0 <= output_padding < max(s, d)
The dims are independent, so a multi-dim answer is the product of the per-dim answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import product

from archcount.errors import InputError

IntOrTuple = int | Sequence[int]


class PaddingError(InputError):
    """A padding question that cannot describe a layer (non-positive size, stride 0, …)."""


class Op(str, Enum):
    """Which layer the equation describes."""

    CONV = "conv"
    TRANSPOSED = "transposed"


@dataclass(frozen=True)
class Pad:
    """Padding of one dim: zeros added (conv) or outputs cropped (transposed) before and after."""

    before: int
    after: int
    output_padding: int | None = None  # transposed only

    @property
    def symmetric(self) -> bool:
        """True when PyTorch's own `padding=` argument can express it."""
        return self.before == self.after

    @property
    def padding(self) -> int | tuple[int, int]:
        """PyTorch's padding (an int) when symmetric, else the (before, after) pair."""
        return self.before if self.symmetric else (self.before, self.after)


@dataclass(frozen=True)
class Equation:
    """One layer's shape question: per-dim kernel, stride, dilation, input and wanted output."""

    op: Op
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    size_in: tuple[int, ...]
    size_out: tuple[int, ...]

    @property
    def dims(self) -> int:
        """Number of spatial dims (1-3)."""
        return len(self.kernel)

    def axis(self, i: int) -> tuple[int, int, int, int, int]:
        """(kernel, stride, dilation, in, out) of dim i."""
        return self.kernel[i], self.stride[i], self.dilation[i], self.size_in[i], self.size_out[i]

    @property
    def uniform(self) -> bool:
        """True when every dim asks the same question."""
        return all(self.axis(i) == self.axis(0) for i in range(self.dims))


@dataclass(frozen=True)
class Solution:
    """One padding per dim that gives the wanted output size."""

    pads: tuple[Pad, ...]

    @property
    def symmetric(self) -> bool:
        """True when every dim can use PyTorch's `padding=` argument."""
        return all(p.symmetric for p in self.pads)

    @property
    def padding(self):
        """An int or (before, after) when every dim agrees, else one entry per dim."""
        per = [p.padding for p in self.pads]
        return per[0] if all(x == per[0] for x in per) else tuple(per)

    @property
    def output_padding(self):
        """None for a conv; an int when every dim agrees, else one per dim."""
        per = [p.output_padding for p in self.pads]
        return per[0] if all(x == per[0] for x in per) else tuple(per)

    def to_dict(self) -> dict:
        """{"padding": int | [before, after] | per-dim list, "output_padding": …, "symmetric"}."""
        return {
            "padding": _listed(self.padding),
            "output_padding": _listed(self.output_padding),
            "symmetric": self.symmetric,
        }


@dataclass(frozen=True)
class Answer:
    """Every solution of an equation, smallest first; `reason` says why there is none."""

    equation: Equation
    solutions: tuple[Solution, ...]
    reason: str | None

    @property
    def symmetric(self) -> bool:
        """True when PyTorch's `padding=` (and output_padding=) alone can do it."""
        return bool(self.solutions) and self.solutions[0].symmetric

    @property
    def pytorch(self) -> str:
        """How to write the first solution in PyTorch ('' when there is none)."""
        return pytorch_hint(self.equation, self.solutions[0]) if self.solutions else ""

    def to_dict(self) -> dict:
        """The CLI's --json object for one equation."""
        e = self.equation
        return {
            "op": e.op.value,
            "dims": e.dims,
            "kernel": _one(e.kernel),
            "stride": _one(e.stride),
            "dilation": _one(e.dilation),
            "in": _one(e.size_in),
            "out": _one(e.size_out),
            "symmetric": self.symmetric,
            "solutions": [s.to_dict() for s in self.solutions],
            "pytorch": self.pytorch or None,
            "reason": self.reason,
        }


def conv_out(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    """floor((in + before + after - d(k-1) - 1) / s) + 1 (below 1: the kernel does not fit)."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def equation(
    op: Op | str,
    kernel: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    size_in: IntOrTuple = 1,
    size_out: IntOrTuple = 1,
    dims: int | None = None,
) -> Equation:
    """A checked Equation; ints spread over `dims` (default: the longest tuple given, else 2)."""
    try:
        op = Op(op)
    except ValueError:
        raise PaddingError(f"the layer must be conv or transposed, got {op!r}") from None
    named = {"kernel": kernel, "stride": stride, "dilation": dilation, "in": size_in}
    named["out"] = size_out
    lengths = {len(v) for v in named.values() if not isinstance(v, int)}
    if dims is None:
        dims = max(lengths, default=2)
    if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= 3:
        raise PaddingError(f"dims must be 1, 2 or 3, got {dims!r}")
    spread = {name: _per_dim(name, value, dims) for name, value in named.items()}
    return Equation(op, *spread.values())


def _per_dim(name: str, value: IntOrTuple, dims: int) -> tuple[int, ...]:
    values = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(values) == 1:
        values *= dims
    if len(values) != dims:
        raise PaddingError(f"{name} has {len(values)} values for {dims} dims: {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise PaddingError(f"{name} must be a positive integer (or one per dim), got {value!r}")
    return values


def solve(eq: Equation) -> Answer:
    """Every per-dim padding combination giving eq.size_out, smallest total first."""
    per_dim, reasons = [], []
    for i in range(eq.dims):
        pads, reason = _axis(eq.op, *eq.axis(i))
        per_dim.append(pads)
        if reason:
            reasons.append(reason if eq.uniform or eq.dims == 1 else f"dim {i}: {reason}")
    if reasons:
        return Answer(eq, (), reasons[0])
    combos = sorted(product(*per_dim), key=_size_key)
    return Answer(eq, tuple(Solution(tuple(c)) for c in combos), None)


def solve_one(
    op: Op | str,
    kernel: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    size_in: IntOrTuple = 1,
    size_out: IntOrTuple = 1,
    dims: int | None = None,
) -> Answer:
    """solve(equation(...)): the library call behind `archcount padding conv|transposed`."""
    return solve(equation(op, kernel, stride, dilation, size_in, size_out, dims))


def _size_key(pads: tuple[Pad, ...]) -> tuple:
    return (
        sum(p.before + p.after for p in pads),
        sum(p.output_padding or 0 for p in pads),
        tuple((p.before, p.after, p.output_padding or 0) for p in pads),
    )


def _axis(op: Op, k: int, s: int, d: int, n_in: int, n_out: int) -> tuple[list[Pad], str | None]:
    return (_conv_axis if op is Op.CONV else _transposed_axis)(k, s, d, n_in, n_out)


def _conv_axis(k: int, s: int, d: int, n_in: int, n_out: int) -> tuple[list[Pad], str | None]:
    """Totals P with floor((in + P - span)/s) = out - 1: P in [lo, lo + s - 1], P >= 0."""
    lo = (n_out - 1) * s + d * (k - 1) + 1 - n_in
    totals = range(max(0, lo), lo + s)
    if not totals:
        smallest = conv_out(n_in, k, s, d, 0, 0)
        return [], (
            f"even without padding the output is {smallest} > {n_out}: "
            "padding can only grow a conv's output"
        )
    symmetric = [Pad(t // 2, t // 2) for t in totals if t % 2 == 0]
    # Only a lone odd total is left (stride 1): split it as padding='same' does, extra after.
    return symmetric or [Pad(t // 2, t - t // 2) for t in totals], None


def _transposed_axis(k: int, s: int, d: int, n_in: int, n_out: int) -> tuple[list[Pad], str | None]:
    """2p - output_padding = crop, crop = (in - 1)s + d(k-1) + 1 - out, 0 <= op < max(s, d)."""
    crop, most = (n_in - 1) * s + d * (k - 1) + 1 - n_out, max(s, d)
    symmetric = [
        Pad((crop + op) // 2, (crop + op) // 2, op)
        for op in range(most)
        if crop + op >= 0 and (crop + op) % 2 == 0
    ]
    if symmetric:
        return symmetric, None
    if crop >= 0:  # s = d = 1 and an odd crop: crop one more after, outside the layer
        return [Pad(crop // 2, crop - crop // 2, 0)], None
    largest = n_out + crop + most - 1
    return [], (
        f"the largest output is {largest} < {n_out} (padding 0, output_padding "
        f"{most - 1}): padding only crops a transposed conv's output, and output_padding "
        "must stay below max(stride, dilation)"
    )


def pytorch_hint(eq: Equation, sol: Solution) -> str:
    """One line of PyTorch that builds `sol`, asymmetric pads included."""
    n = eq.dims
    if eq.op is Op.CONV:
        if sol.symmetric:
            return f"nn.Conv{n}d(..., kernel_size={_one(eq.kernel)}, padding={sol.padding})"
        if all(s == 1 for s in eq.stride) and eq.size_in == eq.size_out:
            return f"nn.Conv{n}d(..., padding='same') (PyTorch pads the extra zero after)"
        pad = _pad_tuple(sol, 1)
        return f"nn.ZeroPad{n}d({pad}) or F.pad(x, {pad}), then nn.Conv{n}d(..., padding=0)"
    if sol.symmetric:
        return (
            f"nn.ConvTranspose{n}d(..., kernel_size={_one(eq.kernel)}, "
            f"padding={sol.padding}, output_padding={sol.output_padding})"
        )
    crop = _pad_tuple(sol, -1)
    return f"nn.ConvTranspose{n}d(..., padding=0), then crop with F.pad(y, {crop})"


def _pad_tuple(sol: Solution, sign: int) -> tuple[int, ...]:
    """F.pad order: last dim first, (before, after) each; negative pads crop."""
    return tuple(sign * x for p in reversed(sol.pads) for x in (p.before, p.after))


def _one(values):
    """A per-dim tuple as an int when all dims agree."""
    if isinstance(values, tuple) and values and all(v == values[0] for v in values):
        return values[0]
    return values


def _listed(value):
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value
