"""Built-in receptive-field rules, one small function per aten op family.

Each rule sees the op's arguments by schema name, tensors replaced by their shapes, the
output shape and the number of spatial dims it maps; it returns one Field per spatial dim
(the local map from its output positions to its input positions), or None when it cannot
follow the call. To follow a new op: `@field_rule(torch.ops.aten.my_op)`; a new layer:
`@field_rule(MyLayer)` with (module, input shapes, output shapes, dims).

Norms are followed along their weighted path: the statistics of a GroupNorm or LayerNorm
(and of BatchNorm in training) read every position, which no receptive field counts.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor, gcd

import torch

from archcount.receptive.field import Field
from archcount.receptive.registry import FieldRegistry, Maps, Role

FIELD_RULES = FieldRegistry()
field_rule = FIELD_RULES.register
aten = torch.ops.aten


def _present(*names: str) -> list:
    """The packets of `names` this torch build has."""
    return [getattr(aten, n) for n in names if hasattr(aten, n)]


def _spread(value, dims: int) -> tuple[int, ...]:
    """An int or a list option spread over `dims` dimensions ([] and None: not given)."""
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(value or ())
    return value * dims if len(value) == 1 else value


def _identity(dims: int) -> Maps:
    return (Field.identity(),) * dims


def _windows(kernel, stride, padding, dilation) -> Maps:
    """Output i reads i·s − p + t·d for t < k, per dimension (convs and pools)."""
    return tuple(
        Field.window([t * d - p for t in range(k)], s)
        for k, s, p, d in zip(kernel, stride, padding, dilation)
    )


@field_rule(aten.convolution)
def convolution(a, out, dims):
    """Conv: i·s − p + t·d; transposed: output o reads input i where o = i·s − p + t·d."""
    kernel = a["weight"][2:]
    n = len(kernel)
    s, p, d = (_spread(a[x], n) for x in ("stride", "padding", "dilation"))
    if not a["transposed"]:
        return _windows(kernel, s, p, d)
    return tuple(
        Field.of(ss, 1, [[(o + pp - t * dd) // ss for t in range(k) if (o + pp - t * dd) % ss == 0]
                         for o in range(ss)])
        for k, ss, pp, dd in zip(kernel, s, p, d)
    )  # fmt: skip


def _pool(a, out, dims, dilated: bool):
    k = a["kernel_size"]
    n = len(k)
    stride = _spread(a["stride"], n) or tuple(k)
    dilation = _spread(a["dilation"], n) if dilated else (1,) * n
    return _windows(k, stride, _spread(a["padding"], n), dilation)


FIELD_RULES.add(
    _present("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
             "max_pool2d_with_indices", "max_pool3d_with_indices"),
    Role.LOCAL,
    lambda a, out, dims: _pool(a, out, dims, True),
)  # fmt: skip
FIELD_RULES.add(
    _present("avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d"),
    Role.LOCAL,
    lambda a, out, dims: _pool(a, out, dims, False),
)


def adaptive(n_in: int, n_out: int) -> Field:
    """Window i: floor(i·in/out) ≤ x < ceil((i+1)·in/out); period out/g, shift in/g."""
    g = gcd(n_in, n_out)
    q, r = n_out // g, n_in // g
    return Field.of(q, r, [range(c * n_in // n_out, -(-(c + 1) * n_in // n_out)) for c in range(q)])


@field_rule(
    *_present("_adaptive_avg_pool1d", "adaptive_avg_pool1d", "_adaptive_avg_pool2d",
              "_adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
              "adaptive_max_pool3d")
)  # fmt: skip
def adaptive_pool(a, out, dims):
    """Adaptive pools read whole windows of a finite map (the field grows with the input)."""
    n = len(a["output_size"])
    return tuple(adaptive(i, o) for i, o in zip(a["self"][-n:], out[-n:]))


# --- Interpolation -----------------------------------------------------------------------
# PyTorch's source coordinate of output o: o·α (nearest, align_corners), (o + ½)·α − ½
# (linear modes), (o + ½)·α (nearest-exact), with α = 1/scale when a scale is given, else
# in/out, and (in−1)/(out−1) under align_corners. Taps with weight zero (the source lands on
# a sample) are not read.


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


_NEAREST = _interp_rule(lambda o, al: o * al, (0,))
FIELD_RULES.add(_present("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"),
                Role.LOCAL, _NEAREST)  # fmt: skip
FIELD_RULES.add(
    _present("_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d"),
    Role.LOCAL,
    _interp_rule(lambda o, al: (o + Fraction(1, 2)) * al, (0,)),
)
FIELD_RULES.add(
    _present("upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d"),
    Role.LOCAL,
    _interp_rule(lambda o, al: (o + Fraction(1, 2)) * al - Fraction(1, 2), (0, 1)),
)
FIELD_RULES.add(
    _present("upsample_bicubic2d"),
    Role.LOCAL,
    _interp_rule(lambda o, al: (o + Fraction(1, 2)) * al - Fraction(1, 2), (-1, 0, 1, 2)),
)


@field_rule(aten.pixel_shuffle)
def pixel_shuffle(a, out, dims):
    """Output o reads input o // r (channels become positions)."""
    r = a["upscale_factor"]
    return tuple(Field.of(r, 1, [[0]] * r) for _ in range(2))


@field_rule(aten.pixel_unshuffle)
def pixel_unshuffle(a, out, dims):
    """Output i reads input i·r … i·r + r − 1."""
    r = a["downscale_factor"]
    return tuple(Field.window(range(r), r) for _ in range(2))


# --- Padding and cropping ----------------------------------------------------------------


@field_rule(
    aten.constant_pad_nd,
    *_present("reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d",
              "replication_pad2d", "replication_pad3d", "_pad_circular")
)  # fmt: skip
def pad(a, out, dims):
    """Output i reads input i − before (the pad list runs from the last dim, before/after)."""
    pads = list(a.get("pad", a.get("padding")))
    before = [pads[2 * i] for i in range(len(pads) // 2)][::-1]  # first spatial dim first
    return tuple(Field.window([-b]) for b in before)


@field_rule(aten.slice)
def crop(a, out, dims):
    """A slice of a spatial dim: output i reads start + i·step; of another dim: identity."""
    rank = len(a["self"])
    dim = a["dim"] % rank
    if dim < rank - dims:
        return _identity(dims)
    size = a["self"][dim]
    start = a["start"] or 0
    start = max(0, start + size if start < 0 else start)
    maps = [Field.identity()] * dims
    maps[dim - (rank - dims)] = Field.window([start], a["step"])
    return tuple(maps)


# --- Merges: every input at the output's own position --------------------------------------


@field_rule(aten.cat, role=Role.MERGE)
def cat(a, out, dims):
    """Along channels (or batch): each output reads its own position; along space: unknown."""
    rank = len(out)
    return _identity(dims) if a["dim"] % rank < rank - dims else None


def _keeps_space(a, out, dims):
    """Views and copies that leave the last `dims` sizes as they are (or broadcast them)."""
    x = a.get("self", a.get("input"))
    if len(x) < dims or len(out) < dims:
        return None
    same = all(i in (o, 1) for i, o in zip(x[-dims:], out[-dims:]))
    return _identity(dims) if same else None


FIELD_RULES.add(
    [
        aten.view, aten._unsafe_view, aten.reshape, aten.expand, aten.alias, aten.clone,
        aten.contiguous, aten._to_copy, aten.detach, aten.lift_fresh, aten.native_dropout,
        aten.dropout,
        *_present("_reshape_alias"),
    ],
    Role.MERGE,
    _keeps_space,
)  # fmt: skip


@field_rule(aten.select, aten.squeeze, aten.unsqueeze, role=Role.MERGE)
def drop_or_add_dim(a, out, dims):
    """Removing or inserting a leading (batch, channel) dim keeps the field; a spatial one not."""
    rank = max(len(a["self"]), len(out))
    given = a.get("dim")
    if given is None:  # squeeze(): every size-1 dim, spatial ones included
        return _identity(dims) if 1 not in a["self"][-dims:] else None
    where = [given] if isinstance(given, int) else list(given)
    return _identity(dims) if all(d % rank < rank - dims for d in where) else None


@field_rule(aten.permute, aten.transpose, role=Role.MERGE)
def permute(a, out, dims):
    """A permutation that leaves the spatial dims in place (channels-last moves are unknown)."""
    rank = len(a["self"])
    order = list(range(rank))
    if "dims" in a:
        order = [d % rank for d in a["dims"]]
    else:
        i, j = a["dim0"] % rank, a["dim1"] % rank
        order[i], order[j] = order[j], order[i]
    return _identity(dims) if order[rank - dims :] == list(range(rank - dims, rank)) else None


@field_rule(aten.mean, aten.sum, aten.amax, aten.amin, role=Role.MERGE)
def reduction(a, out, dims):
    """A reduction over channels keeps the field; one over space is unknown."""
    rank = len(a["self"])
    reduced = a.get("dim")
    if not reduced:
        return None
    return _identity(dims) if all(d % rank < rank - dims for d in reduced) else None


FIELD_RULES.add(
    [
        aten.native_batch_norm, aten._native_batch_norm_legit_no_training,
        aten._native_batch_norm_legit, aten.native_layer_norm, aten.native_group_norm,
        aten.copy_, aten.copy, aten.where, aten.masked_fill,
    ],
    Role.MERGE,
)  # fmt: skip
