"""The homework nets' closed forms, worked out by hand layer by layer (checked by tests).

S = input height = width; counts per example. Weights hold for every S and k; outputs and
nominal connections for S a multiple of 4 and every k (the nets keep their shapes for every
k); exact connections also need odd k (an even k pads asymmetrically) and maps big enough
for the padding. n·k − (k²−1)/4 is a stride-1 conv's per-dimension count of
taps on real input (n positions, (k−1)/2 padding each side); a stride-2 conv or transposed
conv over n input positions has n·k − (k²−1)/8 (half the padding taps land between rows).
"""

from __future__ import annotations

import sympy
from sympy import Eq, Mod, Rational

from archcount.formulas import NC, NF, NIC, Formula, S, k

SHAPES = (Eq(Mod(S, 4), 0),)  # two halvings: S/4 must be whole
ODD = (Eq(Mod(k, 2), 1), *SHAPES)
_same = (k**2 - 1) / 4  # padding taps per dimension, stride-1 conv, padding (k-1)/2
_half = (k**2 - 1) / 8  # the same for a stride-2 conv or transposed conv


def _tap(n: sympy.Expr, pad: sympy.Expr) -> sympy.Expr:
    """Real-input taps of a 2-D (square) conv: (n·k − padding taps)²."""
    return (n * k - pad) ** 2


def _relu(convention: str) -> sympy.Expr:
    """Outputs (= connections) of the four ReLUs under `modules`: 0 under `units`."""
    return Rational(5, 8) * NF * S**2 + NC * S**2 if convention == "modules" else 0


def pool_upsample(convention: str = "units") -> tuple[Formula, ...]:
    """PoolUpsampleNet: [Conv, MaxPool, BN, ReLU]×2, [Conv, Upsample, BN, ReLU]×2, Conv."""
    weights = k**2 * (NIC * NF + 4 * NF**2 + NF * NC + NC**2) + 12 * NF + 4 * NC
    outputs = Rational(45, 16) * NF * S**2 + Rational(13, 4) * NC * S**2
    # conv taps, then pool (4 per output), upsample (1) and BN (1) connections
    geometric = Rational(19, 8) * NF * S**2 + 2 * NC * S**2
    convs = (NIC * NF + Rational(5, 8) * NF**2 + Rational(1, 4) * NF * NC + NC**2) * k**2 * S**2
    exact = (
        NIC * NF * _tap(S, _same)
        + 2 * NF**2 * _tap(S / 2, _same)
        + 2 * NF**2 * _tap(S / 4, _same)
        + NF * NC * _tap(S / 2, _same)
        + NC**2 * _tap(S, _same)
    )
    # exact: the padding (k−1)/2 must fit in the smallest map, S/4 (found by brute force)
    return _declared(weights, outputs, convs + geometric, exact + geometric, convention, 2)


def conv_transpose(convention: str = "units") -> tuple[Formula, ...]:
    """ConvTransposeNet: [Conv s2, BN, ReLU]×2, [ConvT s2, BN, ReLU]×2, Conv."""
    weights = k**2 * (NIC * NF + 4 * NF**2 + NF * NC + NC**2) + 12 * NF + 4 * NC
    outputs = Rational(5, 4) * NF * S**2 + 3 * NC * S**2
    geometric = Rational(5, 8) * NF * S**2 + NC * S**2  # the BatchNorms
    convs = Rational(1, 4) * (NIC * NF + NF**2 + NF * NC + 4 * NC**2) * k**2 * S**2
    exact = (
        NIC * NF * _tap(S / 2, _half)  # conv s2 S -> S/2: S/2 outputs per dimension
        + 2 * NF**2 * _tap(S / 4, _half)  # conv s2 S/2 -> S/4
        + 2 * NF**2 * _tap(S / 4, _half)  # conv-T s2 from S/4 inputs
        + NF * NC * _tap(S / 2, _half)  # conv-T s2 from S/2 inputs
        + NC**2 * _tap(S, _same)
    )
    # exact: S >= k − 1 (found by brute force over k <= 13, S <= 76)
    return _declared(weights, outputs, convs + geometric, exact + geometric, convention, 1)


def _declared(weights, outputs, connections, exact, convention, s_per_k):
    """Formula records; exact holds for S >= s_per_k·(k−1), where the padding fits the maps."""
    relu = _relu(convention)
    big_enough = (*ODD, sympy.Ge(S, s_per_k * (k - 1)))
    return (
        Formula("weights", sympy.expand(weights)),
        Formula("outputs", sympy.expand(outputs + relu), SHAPES),
        Formula("connections", sympy.expand(connections + relu), SHAPES),
        Formula("connections_exact", exact + relu, big_enough),  # squares kept: readable
    )


DECLARED = {"PoolUpsampleNet": pool_upsample, "ConvTransposeNet": conv_transpose}


def declared(net: str, convention: str = "units") -> tuple[Formula, ...]:
    """The declared formulas of `net` ('PoolUpsampleNet' …) under `convention`."""
    return DECLARED[net](str(getattr(convention, "value", convention)))
