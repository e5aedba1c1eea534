"""Element-wise layers: activations, dropout, GLU, softmax (modules and aten ops).

An element-wise op reads one unit per output; like an activation it adds no unit under the
`units` convention. Ops PyTorch tags pointwise need no rule (engine.record's fallback); the
ones here are the element-wise ops it does not tag, and the softmaxes, whose outputs each
read their whole normalised slice.
"""

from __future__ import annotations

from math import prod

from torch import nn

from archcount.engine.rules.registry import OP_RULES, RULES, aten, present
from archcount.records import Kind


def _per_output(k: int):
    """A rule giving each output element `k` connections."""
    return lambda m, ins, outs: sum(prod(s) for s in outs) * k


_ACTIVATIONS = [
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
    nn.Softplus, nn.Softsign, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.LogSigmoid,
    nn.Threshold, nn.modules.dropout._DropoutNd,
]  # fmt: skip
RULES.add(_ACTIVATIONS, _per_output(1), kind=Kind.ELEMENTWISE)
RULES.add([nn.GLU], _per_output(2), kind=Kind.ELEMENTWISE)


@RULES.register(nn.Softmax, nn.LogSoftmax, nn.Softmin, kind=Kind.ELEMENTWISE)
def softmax(m, ins, outs):
    """outputs * size of the normalised dim: each output reads its whole slice."""
    (y,) = outs[:1]
    dim = m.dim if m.dim is not None else len(y) - 1
    return prod(y) * y[dim]


@OP_RULES.register(
    aten.softmax, aten._softmax, aten.log_softmax, aten._log_softmax,
    *present("_safe_softmax"),
    kind=Kind.ELEMENTWISE,
)  # fmt: skip
def softmax_op(a, out):
    """outputs * size of the normalised dim."""
    return prod(out) * out[a["dim"]]


@OP_RULES.register(aten.glu, kind=Kind.ELEMENTWISE)
def glu(a, out):
    """Two inputs per output (a * sigmoid(b))."""
    return 2 * prod(out)


# Element-wise ops PyTorch does not tag pointwise: one tap per output, as activations.
OP_RULES.add(
    [
        aten.hardswish, aten.hardswish_, aten.log_sigmoid_forward, aten.rrelu_with_noise,
        aten.prelu, aten._prelu_kernel, aten.gelu_, aten.floor_divide, aten.floor_divide_,
    ],
    lambda a, out: prod(out),
    kind=Kind.ELEMENTWISE,
)  # fmt: skip
