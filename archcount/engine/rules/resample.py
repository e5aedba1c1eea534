"""The resampling family: nn.Upsample, the aten upsample ops, pixel (un)shuffle, and their
receptive fields, side by side.

  upsample/interpolate  nearest 1, linear 2, bilinear 4, bicubic 16, trilinear 8 per output;
                        antialiased (_aa) the same when upsampling, unknown when shrinking;
                        mode="area" runs _adaptive_avg_pool*d (the pool family's rule)
  field                 PyTorch's source coordinate of output o: o·α (nearest, align_corners),
                        (o + ½)·α − ½ (linear modes), (o + ½)·α (nearest-exact), with α = 1/scale
                        when a scale is given, else in/out, and (in−1)/(out−1) under
                        align_corners. Taps with weight zero (the source lands on a sample)
                        are not read.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from math import floor, prod

from torch import nn

from archcount.engine.rules.field import Field
from archcount.engine.rules.pool import adaptive_pool
from archcount.engine.rules.registry import FIELD_RULES, OP_RULES, RULES, aten, present
from archcount.engine.taps import INTERP_TAPS, spatial


@RULES.register(nn.Upsample)
def upsample(m, ins, outs):
    """outputs * taps: nearest 1, (bi/tri)linear 2^d, bicubic 16; area: adaptive avg pooling."""
    if m.mode == "area":  # F.interpolate runs adaptive_avg_pool on the spatial dims
        return adaptive_pool(m, ins, outs, dims=len(outs[0]) - 2)
    return sum(prod(s) for s in outs[:1]) * INTERP_TAPS[m.mode]  # another mode: KeyError


def per_output(a, out, *, taps: int = 1):
    """outputs * taps."""
    return prod(out) * taps


_RESAMPLE = {  # each interpolation mode's ops; its taps per output are taps.INTERP_TAPS
    "nearest": [aten.upsample_nearest1d, aten.upsample_nearest2d, aten.upsample_nearest3d],
    "nearest-exact": present(
        "_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d"
    ),
    "linear": [aten.upsample_linear1d],
    "bilinear": [aten.upsample_bilinear2d],
    "bicubic": [aten.upsample_bicubic2d],
    "trilinear": [aten.upsample_trilinear3d],
}
for _mode, _packets in _RESAMPLE.items():
    OP_RULES.add(_packets, partial(per_output, taps=INTERP_TAPS[_mode]))


def resample_antialiased(a, out, *, taps: int):
    """outputs * taps when no spatial dim shrinks; None (unknown) when one does."""
    # Shrinking, the antialias filter widens with the scale: its taps are not the nominal ones.
    x = a.get("self", a.get("input"))
    return None if any(o < i for o, i in zip(spatial(out, 2), spatial(x, 2))) else prod(out) * taps


for _mode in ("bilinear", "bicubic"):
    _aa = partial(resample_antialiased, taps=INTERP_TAPS[_mode])
    OP_RULES.add(present(f"_upsample_{_mode}2d_aa"), _aa)


def _scales(a, n: int) -> list:
    """The scale factors the op was given, per dim (None: from the sizes)."""
    if a.get("scale_factors"):
        return list(a["scale_factors"])
    if "scales" in a:
        return [a["scales"]]
    named = [a[k] for k in ("scales_d", "scales_h", "scales_w") if k in a]
    return named[-n:] if named else [None] * n


def _alphas(a, n: int, out) -> list[Fraction]:
    """Input positions per output position, per dim, as PyTorch computes the source index."""
    sizes_in, sizes_out = a.get("self", a.get("input"))[-n:], out[-n:]
    alphas = []
    for i, o, s in zip(sizes_in, sizes_out, _scales(a, n)):
        if a.get("align_corners"):
            alphas.append(Fraction(i - 1, o - 1) if o > 1 else Fraction(0))
        elif s:
            alphas.append(1 / Fraction(s).limit_denominator(1000))
        else:
            alphas.append(Fraction(i, o))
    return alphas


def _interp(alpha: Fraction, source, taps) -> Field:
    """Output o reads the taps around source(o); period: α's denominator."""
    q = alpha.denominator
    reads = []
    for o in range(q):
        x = source(o, alpha)
        base = floor(x)
        reads.append([base] if x == base else [base + t for t in taps])
    return Field.of(q, alpha.numerator, reads) if alpha else Field(1, 0, (frozenset(reads[0]),))


def _interp_rule(source, taps):
    def fn(a, out, dims):
        n = len(a["output_size"]) if a.get("output_size") else len(a.get("scale_factors") or ())
        corners = a.get("align_corners", False)
        src = (lambda o, al: o * al) if corners else source
        return tuple(_interp(al, src, taps) for al in _alphas(a, n, out))

    return fn


FIELD_RULES.add(
    present("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"),
    _interp_rule(lambda o, al: o * al, (0,)),
)
FIELD_RULES.add(
    present("_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d"),
    _interp_rule(lambda o, al: (o + Fraction(1, 2)) * al, (0,)),
)
FIELD_RULES.add(
    present("upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d"),
    _interp_rule(lambda o, al: (o + Fraction(1, 2)) * al - Fraction(1, 2), (0, 1)),
)
FIELD_RULES.add(
    present("upsample_bicubic2d"),
    _interp_rule(lambda o, al: (o + Fraction(1, 2)) * al - Fraction(1, 2), (-1, 0, 1, 2)),
)


@FIELD_RULES.register(aten.pixel_shuffle)
def pixel_shuffle(a, out, dims):
    """Output o reads input o // r (channels become positions)."""
    r = a["upscale_factor"]
    return tuple(Field.of(r, 1, [[0]] * r) for _ in range(2))


@FIELD_RULES.register(aten.pixel_unshuffle)
def pixel_unshuffle(a, out, dims):
    """Output i reads input i·r … i·r + r − 1."""
    r = a["downscale_factor"]
    return tuple(Field.window(range(r), r) for _ in range(2))
