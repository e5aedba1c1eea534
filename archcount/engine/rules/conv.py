"""The convolution family: nn.ConvNd / nn.ConvTransposeNd, aten.convolution forward and
backward, and its receptive field, side by side.

  nominal      outputs * C_in/g * prod(k) (transposed: input units * C_out/g * prod(k))
  exact        drops taps on zero padding (transposed: taps landing on cropped outputs)
  backward     d(x) is the transposed convolution of the gradient, d(w) the correlation:
               as many multiply-adds as the forward each
  col2im       nn.Fold: every column entry added in once; exact drops those on the padding
  field        output i reads i·s − p + t·d for t < k (transposed: the inverse map)
"""

from __future__ import annotations

from math import prod

from torch import nn

from archcount.engine.rules.field import Field
from archcount.engine.rules.registry import (
    BACKWARD_RULES,
    FIELD_RULES,
    OP_RULES,
    RULES,
    Grads,
    Taps,
    aten,
    present,
)
from archcount.engine.taps import hits, leading, per_dim, spatial


def _conv_pad_before(m: nn.modules.conv._ConvNd, dims: int, k, d) -> tuple[int, ...]:
    if m.padding == "valid":
        return (0,) * dims
    if m.padding == "same":  # PyTorch puts the odd extra pad after: left = total // 2
        return tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
    return per_dim(m.padding, dims)


@RULES.register(nn.Conv1d, nn.Conv2d, nn.Conv3d)
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


@RULES.register(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
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


def convolution_macs(x, w, out, transposed: bool) -> int:
    """(outputs, or inputs when transposed) * prod(weight[1:]) = C_in/g * prod(k) per output."""
    # weight is (C_out, C_in/g, *k), or (C_in, C_out/g, *k) when transposed
    return prod(x if transposed else out) * prod(w[1:])


def _conv_exact(x, w, out, stride, padding, dilation, transposed) -> int:
    """Taps on real input (conv) or on outputs kept after cropping (transposed)."""
    dims = len(w) - 2
    k, s, p, d = w[2:], per_dim(stride, dims), per_dim(padding, dims), per_dim(dilation, dims)
    if transposed:
        hit = [
            hits(i, o, *kps) for i, o, *kps in zip(spatial(x, dims), spatial(out, dims), k, s, p, d)
        ]
        return prod(x) // prod(spatial(x, dims)) * prod(w[1:2]) * prod(hit)
    hit = [hits(o, i, *kps) for o, i, *kps in zip(spatial(out, dims), spatial(x, dims), k, s, p, d)]
    return prod(out) // prod(spatial(out, dims)) * prod(w[1:2]) * prod(hit)


@OP_RULES.register(aten.convolution, aten._convolution, aten.convolution_overrideable)
def convolution(a, out):
    """Nominal as `convolution_macs`; exact leaves out taps on zero padding (or cropped outputs)."""
    x, w, transposed = a["input"], a["weight"], a["transposed"]
    nominal = convolution_macs(x, w, out, transposed)
    if len(w) < 3 or isinstance(a["padding"], str):
        return nominal
    exact = _conv_exact(x, w, out, a["stride"], a["padding"], a["dilation"], transposed)
    return Taps(nominal, exact)


@OP_RULES.register(aten.col2im)
def fold(a, out):
    """nn.Fold: each column entry is added into one output position; exact drops the entries
    that land on the padding cropped away (im2col, nn.Unfold, is a copy: storage)."""
    size, (k, d, p, s) = (
        a["output_size"],
        (a[x] for x in ("kernel_size", "dilation", "padding", "stride")),
    )
    k, d, p, s = (per_dim(v, 2) for v in (k, d, p, s))
    blocks = [
        (o + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for o, kk, dd, pp, ss in zip(size, k, d, p, s)
    ]
    hit = [hits(n, o, kk, ss, pp, dd) for n, o, kk, ss, pp, dd in zip(blocks, size, k, s, p, d)]
    return Taps(prod(a["self"]), prod(out) // prod(spatial(out, 2)) * prod(hit))


@OP_RULES.register(*present("cudnn_convolution", "_slow_conv2d_forward", "mkldnn_convolution"))
def convolution_plain(a, out):
    """outputs * prod(weight[1:]) (these kernels are never transposed)."""
    return prod(out) * prod(a["weight"][1:])


@OP_RULES.register(aten.convolution_backward)
def convolution_backward(a, out):
    """The forward's taps once for the input gradient and once for the weight gradient."""
    forward = convolution_macs(a["input"], a["weight"], a["grad_output"], a["transposed"])
    mask = a["output_mask"]
    return forward * (int(mask[0]) + int(mask[1]))


@BACKWARD_RULES.register(aten.convolution, aten._convolution, aten.convolution_overrideable)
def convolution_grads(a, out) -> Grads:
    """d(input) and d(weight): as many multiply-adds as the forward each."""
    f = convolution_macs(a["input"], a["weight"], out, a["transposed"])
    return Grads(f, {"input": f, "weight": f})


def spread(value, dims: int) -> tuple[int, ...]:
    """An int or a list option spread over `dims` dimensions ([] and None: not given)."""
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(value or ())
    return value * dims if len(value) == 1 else value


def windows(kernel, stride, padding, dilation) -> tuple[Field, ...]:
    """Output i reads i·s − p + t·d for t < k, per dimension (convs and pools)."""
    return tuple(
        Field.window([t * d - p for t in range(k)], s)
        for k, s, p, d in zip(kernel, stride, padding, dilation)
    )


@FIELD_RULES.register(aten.convolution)
def convolution_field(a, out, dims):
    """Conv: i·s − p + t·d; transposed: output o reads input i where o = i·s − p + t·d."""
    kernel = a["weight"][2:]
    n = len(kernel)
    s, p, d = (spread(a[x], n) for x in ("stride", "padding", "dilation"))
    if not a["transposed"]:
        return windows(kernel, s, p, d)
    return tuple(
        Field.of(ss, 1, [[(o + pp - t * dd) // ss for t in range(k) if (o + pp - t * dd) % ss == 0]
                         for o in range(ss)])
        for k, ss, pp, dd in zip(kernel, s, p, d)
    )  # fmt: skip
