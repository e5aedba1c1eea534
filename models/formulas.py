"""The homework nets' closed forms, worked out by hand layer by layer (checked by tests).

S = input height = width; counts per example. Weights hold for every S and k; outputs and
nominal connections for S a multiple of 4 and every k (the nets keep their shapes for every
k); exact connections also need odd k (an even k pads asymmetrically) and maps big enough
for the padding. n·k − (k²−1)/4 is a stride-1 conv's per-dimension count of taps on real
input (n positions, (k−1)/2 padding each side); a stride-2 conv or transposed conv over n
input positions has n·k − (k²−1)/8 (half the padding taps land between rows).

Formulas are Python-syntax strings (archcount.Formula): counting evaluates them without
sympy; derive and check read them as sympy expressions. SYMBOLS says what each symbol is.
"""

from __future__ import annotations

from archcount import Formula, Symbols

# NIC, NF, NC, k are constructor arguments; the input is NIC x S x S; k and S are factored out.
SYMBOLS = Symbols(
    params={"NIC": "num_in_channels", "NF": "num_filters", "NC": "num_colours", "k": "kernel"},
    input=("NIC", "S", "S"),
    defaults={"S": 32},
    outer=("k", "S"),
)
SHAPES = ("S % 4 == 0",)  # two halvings: S/4 must be whole
ODD = ("k % 2 == 1", *SHAPES)
WEIGHTS = "k**2*(NIC*NF + 4*NF**2 + NF*NC + NC**2) + 12*NF + 4*NC"
SAME = "(k**2 - 1)/4"  # padding taps per dimension, stride-1 conv, padding (k-1)/2
HALF = "(k**2 - 1)/8"  # the same for a stride-2 conv or transposed conv
RELUS = "S**2*(5*NF/8 + NC)"  # the four ReLUs' outputs (= connections), under `modules` only


def _taps(channels: str, nk: str, pad: str) -> str:
    """Real-input taps of a square 2-D conv: channels·(n·k − padding taps)²."""
    return f"{channels}*({nk} - {pad})**2"


def pool_upsample(convention: str = "units") -> tuple[Formula, ...]:
    """PoolUpsampleNet: [Conv, MaxPool, BN, ReLU]×2, [Conv, Upsample, BN, ReLU]×2, Conv."""
    # pools (4 per output), upsamples (1) and BNs (1) around the convs
    geometric = "S**2*(19*NF/8 + 2*NC)"
    exact = " + ".join(
        [
            _taps("NIC*NF", "S*k", SAME),
            _taps("2*NF**2", "S*k/2", SAME),
            _taps("2*NF**2", "S*k/4", SAME),
            _taps("NF*NC", "S*k/2", SAME),
            _taps("NC**2", "S*k", SAME),
        ]
    )
    return _declared(
        outputs="S**2*(45*NF/16 + 13*NC/4)",
        connections=f"k**2*S**2*(NIC*NF + 5*NF**2/8 + NF*NC/4 + NC**2) + {geometric}",
        exact=f"{exact} + {geometric}",
        # the padding (k−1)/2 must fit in the smallest map, S/4 (found by brute force)
        big_enough="S >= 2*(k - 1)",
        convention=convention,
    )


def conv_transpose(convention: str = "units") -> tuple[Formula, ...]:
    """ConvTransposeNet: [Conv s2, BN, ReLU]×2, [ConvT s2, BN, ReLU]×2, Conv."""
    geometric = "S**2*(5*NF/8 + NC)"  # the BatchNorms
    exact = " + ".join(
        [
            _taps("NIC*NF", "S*k/2", HALF),  # conv s2 S -> S/2: S/2 outputs per dimension
            _taps("4*NF**2", "S*k/4", HALF),  # conv s2 S/2 -> S/4, and conv-T s2 from S/4 inputs
            _taps("NF*NC", "S*k/2", HALF),  # conv-T s2 from S/2 inputs
            _taps("NC**2", "S*k", SAME),
        ]
    )
    return _declared(
        outputs="S**2*(5*NF/4 + 3*NC)",
        connections=f"k**2*S**2*(NIC*NF + NF**2 + NF*NC + 4*NC**2)/4 + {geometric}",
        exact=f"{exact} + {geometric}",
        big_enough="S >= k - 1",  # found by brute force over k <= 13, S <= 76
        convention=convention,
    )


def _declared(outputs, connections, exact, big_enough, convention) -> tuple[Formula, ...]:
    """Formula records; under `modules` the ReLUs add their outputs and connections."""
    relu = f" + {RELUS}" if convention == "modules" else ""
    return (
        Formula("weights", WEIGHTS),
        Formula("outputs", outputs + relu, SHAPES),
        Formula("connections", connections + relu, SHAPES),
        Formula("connections_exact", exact + relu, (*ODD, big_enough)),
    )


DECLARED = {"PoolUpsampleNet": pool_upsample, "ConvTransposeNet": conv_transpose}


def declared(net: str, convention: str = "units") -> tuple[Formula, ...]:
    """The declared formulas of `net` ('PoolUpsampleNet' …) under `convention`."""
    return DECLARED[net](str(getattr(convention, "value", convention)))
