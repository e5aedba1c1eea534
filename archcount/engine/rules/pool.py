"""The pooling family: nn pools, the aten pools and their receptive fields, side by side.

max/avg pool     prod(kernel) per output; exact drops taps on padding and past the edge
adaptive pools   the actual window sizes: sum_i (ceil((i+1)in/out) - floor(i*in/out))
field            output i reads i·s − p + t·d (adaptive: whole windows of a finite map)
"""

from __future__ import annotations

from functools import partial
from math import gcd, prod

from torch import nn

from archcount.engine.rules.conv import spread, windows
from archcount.engine.rules.field import Field
from archcount.engine.rules.registry import FIELD_RULES, OP_RULES, RULES, Taps, aten, present
from archcount.engine.taps import adaptive_taps, hits, per_dim, spatial


def _window(m, dims, ins, outs, dilation=1):
    k, s = per_dim(m.kernel_size, dims), per_dim(m.stride or m.kernel_size, dims)
    p, d = per_dim(getattr(m, "padding", 0), dims), per_dim(dilation, dims)
    (x,), (y,) = ins[:1], outs[:1]
    nominal = prod(y) * prod(k)
    per = [
        hits(o, i, kk, ss, pp, dd)
        for o, i, kk, ss, pp, dd in zip(spatial(y, dims), spatial(x, dims), k, s, p, d)
    ]
    return Taps(nominal, prod(y) // prod(spatial(y, dims)) * prod(per))


def max_pool(m, ins, outs, *, dims: int):
    """outputs * prod(K); exact drops taps on padding and past the edge (ceil_mode)."""
    return _window(m, dims, ins, outs, m.dilation)


def avg_pool(m, ins, outs, *, dims: int):
    """outputs * prod(K); exact drops taps on padding and past the edge (ceil_mode)."""
    return _window(m, dims, ins, outs)


def adaptive_pool(m, ins, outs, *, dims: int):
    """Actual window sizes: prod over dims of sum_i (ceil((i+1)in/out) - floor(i*in/out))."""
    return adaptive_taps(ins[0], outs[0], dims)


# The spatial dims of each pool type are bound here, to the type: a subclass of MaxPool2d
# inherits dims=2 with the rule, whatever it is called.
_POOLS = {
    max_pool: [(nn.MaxPool1d,), (nn.MaxPool2d,), (nn.MaxPool3d,)],
    avg_pool: [
        (nn.AvgPool1d, nn.LPPool1d),
        (nn.AvgPool2d, nn.LPPool2d),
        (nn.AvgPool3d, nn.LPPool3d),
    ],
    adaptive_pool: [
        (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d),
        (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d),
        (nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d),
    ],
}
for _fn, _by_dims in _POOLS.items():
    for _dims, _types in enumerate(_by_dims, start=1):
        RULES.add(_types, partial(_fn, dims=_dims))


def pool_window(a, out, *, dims: int):
    """outputs * prod(kernel)."""
    return prod(out) * prod(per_dim(a["kernel_size"], dims))


def adaptive_pool_op(a, out, *, dims: int):
    """Sum of the actual windows, as nn.AdaptiveAvgPool counts them (taps.adaptive_taps)."""
    return adaptive_taps(a["self"], out, dims)


_POOL_OPS = {  # the number of spatial dims of each op, bound here rather than read from its name
    1: [aten.max_pool1d, aten.max_pool1d_with_indices, aten.avg_pool1d],
    2: [aten.max_pool2d, aten.max_pool2d_with_indices, aten.avg_pool2d],
    3: [aten.max_pool3d, aten.max_pool3d_with_indices, aten.avg_pool3d],
}
_ADAPTIVE_OPS = {
    1: [aten.adaptive_avg_pool1d, aten.adaptive_max_pool1d],
    2: [aten.adaptive_avg_pool2d, aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d],
    3: [aten.adaptive_avg_pool3d, aten._adaptive_avg_pool3d, aten.adaptive_max_pool3d],
}
for _dims in (1, 2, 3):
    OP_RULES.add(_POOL_OPS[_dims], partial(pool_window, dims=_dims))
    OP_RULES.add(_ADAPTIVE_OPS[_dims], partial(adaptive_pool_op, dims=_dims))


def pool_field(a, out, dims, *, dilated: bool):
    """Output i reads i·s − p + t·d for t < k (avg pools: d = 1)."""
    k = a["kernel_size"]
    n = len(k)
    stride = spread(a["stride"], n) or tuple(k)
    dilation = spread(a["dilation"], n) if dilated else (1,) * n
    return windows(k, stride, spread(a["padding"], n), dilation)


FIELD_RULES.add(
    present("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
            "max_pool2d_with_indices", "max_pool3d_with_indices"),
    partial(pool_field, dilated=True),
)  # fmt: skip
FIELD_RULES.add(
    present("avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d"),
    partial(pool_field, dilated=False),
)


def adaptive(n_in: int, n_out: int) -> Field:
    """Window i: floor(i·in/out) ≤ x < ceil((i+1)·in/out); period out/g, shift in/g."""
    g = gcd(n_in, n_out)
    q, r = n_out // g, n_in // g
    return Field.of(q, r, [range(c * n_in // n_out, -(-(c + 1) * n_in // n_out)) for c in range(q)])


@FIELD_RULES.register(
    *present("_adaptive_avg_pool1d", "adaptive_avg_pool1d", "_adaptive_avg_pool2d",
             "_adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
             "adaptive_max_pool3d")
)  # fmt: skip
def adaptive_pool_field(a, out, dims):
    """Adaptive pools read whole windows of a finite map (the field grows with the input)."""
    n = len(a["output_size"])
    return tuple(adaptive(i, o) for i, o in zip(a["self"][-n:], out[-n:]))
