"""Built-in counting rules, one small function per layer family (docs/counting.md's table).

To support a new layer, add a function here decorated with `@rule(YourLayer)`; it gets
(module, input shapes, output shapes) for the whole batch and returns Taps or an int.
"""

from __future__ import annotations

from functools import partial
from math import prod

from torch import nn

from archcount.engine.registry import RuleRegistry, Taps
from archcount.engine.taps import INTERP_TAPS, adaptive_taps, hits, leading, per_dim, spatial
from archcount.records import Kind

RULES = RuleRegistry()
rule = RULES.register


def _numel(shapes) -> int:
    return sum(prod(s) for s in shapes)


def _per_output(k: int):
    """A rule giving each output element `k` connections."""
    return lambda m, ins, outs: _numel(outs) * k


def _conv_pad_before(m: nn.modules.conv._ConvNd, dims: int, k, d) -> tuple[int, ...]:
    if m.padding == "valid":
        return (0,) * dims
    if m.padding == "same":  # PyTorch puts the odd extra pad after: left = total // 2
        return tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
    return per_dim(m.padding, dims)


@rule(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def conv(m, ins, outs):
    """nominal = outputs * C_in/g * prod(k); exact drops taps on zero padding."""
    dims, (x,), (y,) = len(m.kernel_size), ins[:1], outs[:1]
    k, s, d = m.kernel_size, per_dim(m.stride, dims), per_dim(m.dilation, dims)
    taps = m.in_channels // m.groups * prod(k)
    nominal = prod(y) * taps
    if m.padding_mode != "zeros":  # reflect/replicate/circular taps read real input units
        return Taps(nominal, nominal)
    p = _conv_pad_before(m, dims, k, d)
    per = [
        hits(o, i, kk, ss, pp, dd)
        for o, i, kk, ss, pp, dd in zip(spatial(y, dims), spatial(x, dims), k, s, p, d)
    ]
    exact = leading(y, dims) * m.out_channels * (m.in_channels // m.groups) * prod(per)
    return Taps(nominal, exact)


@rule(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def conv_transpose(m, ins, outs):
    """nominal = input units * C_out/g * prod(k); exact drops taps landing on cropped outputs."""
    dims, (x,), (y,) = len(m.kernel_size), ins[:1], outs[:1]
    k, s, d = m.kernel_size, per_dim(m.stride, dims), per_dim(m.dilation, dims)
    p = per_dim(m.padding, dims)
    nominal = prod(x) * (m.out_channels // m.groups) * prod(k)
    per = [
        hits(i, o, kk, ss, pp, dd)
        for i, o, kk, ss, pp, dd in zip(spatial(x, dims), spatial(y, dims), k, s, p, d)
    ]
    exact = leading(x, dims) * m.in_channels * (m.out_channels // m.groups) * prod(per)
    return Taps(nominal, exact)


@rule(nn.Linear, nn.LazyLinear)
def linear(m, ins, outs):
    """outputs * in_features."""
    return _numel(outs[:1]) * m.in_features


@rule(nn.Bilinear)
def bilinear(m, ins, outs):
    """outputs * (in1 * in2): every pair of inputs meets in each output."""
    return _numel(outs[:1]) * m.in1_features * m.in2_features


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
        RULES.add(_types, Kind.LAYER, partial(_fn, dims=_dims))


@rule(nn.Upsample)
def upsample(m, ins, outs):
    """outputs * taps: nearest 1, (bi/tri)linear 2^d, bicubic 16; area: adaptive avg pooling."""
    if m.mode == "area":  # F.interpolate runs adaptive_avg_pool on the spatial dims
        return adaptive_pool(m, ins, outs, dims=len(outs[0]) - 2)
    return _numel(outs[:1]) * INTERP_TAPS[m.mode]  # another mode: KeyError, counted unknown


RULES.add(
    [
        nn.modules.batchnorm._BatchNorm,
        nn.modules.instancenorm._InstanceNorm,
        nn.GroupNorm,
        nn.LayerNorm,
        nn.RMSNorm,
        nn.LocalResponseNorm,
    ],
    Kind.NORM,
    _per_output(1),
)
RULES.add([nn.Embedding], Kind.LAYER, _per_output(1))

_ACTIVATIONS = [
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.Softshrink,
    nn.Hardshrink,
    nn.LogSigmoid,
    nn.Threshold,
    nn.modules.dropout._DropoutNd,
]
RULES.add(_ACTIVATIONS, Kind.ELEMENTWISE, _per_output(1))
RULES.add([nn.GLU], Kind.ELEMENTWISE, _per_output(2))


@rule(nn.Softmax, nn.LogSoftmax, nn.Softmin, kind=Kind.ELEMENTWISE)
def softmax(m, ins, outs):
    """outputs * size of the normalised dim: each output reads its whole slice."""
    (y,) = outs[:1]
    dim = m.dim if m.dim is not None else len(y) - 1
    return prod(y) * y[dim]


RULES.add(
    [
        nn.Identity,
        nn.Flatten,
        nn.Unflatten,
        nn.PixelShuffle,
        nn.PixelUnshuffle,
        nn.ChannelShuffle,
        nn.modules.padding._ConstantPadNd,
        nn.modules.padding._ReflectionPadNd,
        nn.modules.padding._ReplicationPadNd,
        nn.CircularPad1d,
        nn.CircularPad2d,
        nn.CircularPad3d,
    ],
    Kind.VIEW,
)


# --- Attention (issue 6) ---------------------------------------------------------------
# nn.MultiheadAttention runs F.multi_head_attention_forward on its own parameters, so its
# out_proj child never runs forward: the module is counted whole by this rule. The
# transformer layers need no rule of their own: their children (this MHA, Linear, LayerNorm,
# Dropout) are hooked one by one, and their residual adds are functional ops that
# archcount.engine.functional reports.


def _mha_biases(m: nn.MultiheadAttention):
    """The packed in-projection bias, out_proj's bias and the key/value bias rows."""
    return (m.in_proj_bias, m.out_proj.bias, m.bias_k, m.bias_v)


def _mha_lengths(m: nn.MultiheadAttention, q, k) -> tuple[int, int, int]:
    """(batch, target length L, source length S) of query/key shapes, batched or not."""
    if len(q) == 2:  # unbatched (L, E)
        return 1, q[0], k[0]
    if m.batch_first:
        return q[0], q[1], k[1]
    return q[1], q[0], k[0]


@rule(nn.MultiheadAttention, biases=_mha_biases)
def multihead_attention(m, ins, outs):
    """N*(L*E*E + S*E*kdim + S*E*vdim + 2*L*S'*E + L*E*E): projections, QK^T, AV, out_proj.

    S' = S (+1 with bias_k/bias_v, +1 with add_zero_attn). Masked scores are still computed,
    so nominal == exact; the softmax, a nonlinearity, adds no connections.
    """
    q, k = ins[0], ins[1] if len(ins) > 1 else ins[0]
    n, tgt, src = _mha_lengths(m, q, k)
    e = m.embed_dim
    src_attended = src + (m.bias_k is not None) + bool(m.add_zero_attn)
    projections = tgt * e * e + src * e * m.kdim + src * e * m.vdim + tgt * e * e
    attention = 2 * tgt * src_attended * e  # scores: head_dim taps each; values: S' taps each
    return n * (projections + attention)


# Recurrent layers (RNN, LSTM, GRU and their cells) live in their own file and register here.
import archcount.engine.recurrent  # noqa: E402, F401

RULES.own_code_only()  # the built-ins are layers: children a subclass adds count on their own
