"""The matrix-product family: nn.Linear / nn.Bilinear / nn.Embedding, the aten matmuls with
their backward, and embedding lookups, side by side.

  mm/addmm/bmm/baddbmm      K per output (the contracted size); a bias add is not a connection
  _grouped_mm (MoE experts) K per output, each token row against its own expert's matrix
  backward                  d(a) = grad @ bᵀ and d(b) = aᵀ @ grad: each as many as the forward
  _fft_r2c/_c2r/_c2c (DFT)  every input along the transformed dims per output
  embedding                 1 per output; embedding_bag: indices * dim (each row added in)
"""

from __future__ import annotations

from math import prod

import torch
from torch import nn

from archcount.engine.rules.registry import (
    BACKWARD_RULES,
    OP_RULES,
    RULES,
    Grads,
    aten,
    present,
    schema_args,
)


@RULES.register(nn.Linear, nn.LazyLinear)
def linear(m, ins, outs):
    """outputs * in_features."""
    return sum(prod(s) for s in outs[:1]) * m.in_features


@RULES.register(nn.Bilinear)
def bilinear(m, ins, outs):
    """outputs * (in1 * in2): every pair of inputs meets in each output."""
    return sum(prod(s) for s in outs[:1]) * m.in1_features * m.in2_features


@RULES.register(nn.Embedding)
def embedding(m, ins, outs):
    """1 per output: a row looked up."""
    return sum(prod(s) for s in outs)


@OP_RULES.register(aten.mm, aten.bmm, *present("_scaled_mm"))
def matmul(a, out):
    """outputs * K, K = a's last dim (the contracted size)."""
    return prod(out) * a["self"][-1]


@OP_RULES.register(aten.addmm, *present("_addmm_activation"))
def matmul_add(a, out):
    """outputs * K, K = the first factor's last dim; the added term is not a connection."""
    return prod(out) * a["mat1"][-1]


@OP_RULES.register(aten.baddbmm)
def batch_matmul_add(a, out):
    """outputs * K, K = the first batch's last dim; the added term is not a connection."""
    return prod(out) * a["batch1"][-1]


@OP_RULES.register(*present("_grouped_mm"))
def grouped_matmul(a, out):
    """Mixture-of-experts: each row (or group) multiplies its own matrix, K taps per output.

    2-D x 3-D (rows grouped by offs), 3-D x 3-D (batched) and 3-D x 2-D (columns grouped):
    outputs * K, K = a's last dim; 2-D x 2-D (K grouped by offs, out (G, M, N)): each output
    of group g reads K_g, which sum to M * N * K over the groups.
    """
    x, w = a["self"], a["mat2"]
    if len(x) == 2 and len(w) == 2:
        return x[0] * w[-1] * x[-1]
    return prod(out) * x[-1]


@OP_RULES.register(aten.addbmm)
def batch_matmul_summed(a, out):
    """B * n * m * p: each (n, p) output sums the B products of m taps."""
    b1 = a["batch1"]
    return prod(out) * b1[0] * b1[-1]


@OP_RULES.register(aten.mv, aten.addmv, aten.dot, aten.vdot)
def matrix_vector(a, out):
    """outputs * K (mv: rows x K; dot: one output of K); addmv's added vector is not a tap."""
    return max(prod(out), 1) * a.get("mat", a["self"])[-1]


@OP_RULES.register(aten.addr)
def outer_add(a, out):
    """One tap per output of the outer product (vec1[i] * vec2[j]); the added term is not."""
    return prod(out)


@OP_RULES.register(aten._embedding_bag, aten.embedding_bag, *present("_embedding_bag_forward_only"))
def embedding_bag(a, out):
    """Each looked-up row element is added into its bag: indices * dim."""
    return prod(a["indices"]) * a["weight"][-1]


OP_RULES.add([aten.embedding], lambda a, out: prod(out))


@OP_RULES.register(aten._fft_r2c, aten._fft_c2r, aten._fft_c2c)
def fourier(a, out):
    """A DFT (FNet's mixing) is a dense linear map along its dims: each output reads every
    input along them (a connection per tap, as a matmul; not the FFT's n·log n work)."""
    x = a["self"]
    return prod(out) * prod(x[d] for d in a["dim"])


@BACKWARD_RULES.register(aten.mm, aten.bmm)
def matmul_grads(a, out) -> Grads:
    """d(self) = grad @ mat2ᵀ and d(mat2) = selfᵀ @ grad: each as many MACs as the forward."""
    f = matmul(a, out)
    return Grads(f, {"self": f, "mat2": f})


@BACKWARD_RULES.register(aten.addmm)
def matmul_add_grads(a, out) -> Grads:
    """As mm for the factors; the added term's gradient is a sum, no MACs."""
    f = matmul_add(a, out)
    return Grads(f, {"mat1": f, "mat2": f})


@BACKWARD_RULES.register(aten.baddbmm, aten.addbmm)
def batch_matmul_add_grads(a, out) -> Grads:
    """As bmm for the two batches; the added term's gradient is a sum, no MACs."""
    f = prod(a["batch1"]) * a["batch2"][-1]
    return Grads(f, {"batch1": f, "batch2": f})


def _grouped_mm_on_meta(args, kwargs):
    """torch's meta _grouped_mm accepts only bf16 with 16-byte aligned strides (its CPU kernel
    runs any float32): the output the CPU would give. 2-D x 3-D (M, N), 3-D x 3-D (G, M, N),
    2-D x 2-D (G groups of offs, M, N), 3-D x 2-D (M, N)."""
    named = schema_args(aten._grouped_mm.default, args, kwargs)
    a, b = named["self"], named["mat2"]
    if a.dim() == 2 and b.dim() == 2:
        shape = (named["offs"].shape[0], a.shape[0], b.shape[-1])
    elif a.dim() == 3 and b.dim() == 3:
        shape = (a.shape[0], a.shape[1], b.shape[-1])
    else:
        shape = (a.shape[-2], b.shape[-1])
    return torch.empty(shape, dtype=named["out_dtype"] or a.dtype, device="meta")


# Meta kernels stricter than the CPU's: on meta, when one refuses, the output it would give.
META_FALLBACKS = {}
if hasattr(aten, "_grouped_mm"):
    META_FALLBACKS[aten._grouped_mm.default] = _grouped_mm_on_meta
