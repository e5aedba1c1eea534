"""Connections of one aten op, whole batch: the dispatch pass's table for functional arithmetic.

How each family is counted (nominal taps, as the module rules count them):
  mm/addmm/bmm/baddbmm      K per output (the contracted size); a bias add is not a connection
  convolution               as nn.ConvNd / nn.ConvTransposeNd
  scaled_dot_product_*      L*S*d (scores) + L*S*dv (weighted values) per batch and head
  cat/stack                 1 per output: each output copies one input unit
  add/sub/mul/... (pointwise on >= 2 non-scalar tensors)   one per operand per output (2 for x+y)
  pointwise on one tensor (relu, x*0.5, ...)                an element-wise op: 1 per output, and
                            like an activation it adds nothing under the `units` convention
  upsample/interpolate      nearest 1, linear 2, bilinear 4, bicubic 16, trilinear 8 per output
  max/avg pool              prod(kernel) per output; adaptive pools: the actual window sizes
  sum/mean/amax/... (reductions)   input elements / output elements per output
  softmax/log_softmax       the normalised dim's size per output (element-wise, like nn.Softmax)
  layer/batch/group norm    1 per output (a norm, like the module rule)
  embedding                 1 per output
Views, copies, casts, factories, indexing and boolean masks are storage, not arithmetic: they
are not recorded. Any other op is recorded with unknown connections, never as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch
from torch.utils._pytree import tree_leaves

from archcount.records import Kind
from archcount.engine.taps import adaptive_window_sum, per_dim, spatial


@dataclass(frozen=True)
class OpTaps:
    """What one op call adds, whole batch; connections None when no formula is known."""

    kind: Kind
    outputs: int
    connections: int | None


_STORAGE = {
    "_unsafe_view", "_reshape_alias", "view", "reshape", "clone", "contiguous", "_to_copy",
    "copy", "copy_", "detach", "alias", "lift_fresh", "lift_fresh_copy", "index", "index_select",
    "gather", "select", "slice", "narrow", "repeat", "flip", "roll", "tril", "triu", "fill",
    "fill_", "zero_", "constant_pad_nd", "split", "split_with_sizes", "unbind", "empty_like",
    "zeros_like", "ones_like", "full_like", "new_empty", "new_zeros", "new_ones", "new_full",
    "scalar_tensor", "masked_fill", "masked_fill_", "where", "_assert_tensor_metadata",
    "native_dropout", "dropout", "bernoulli_", "_local_scalar_dense", "slice_scatter",
    "select_scatter", "index_put", "index_put_", "scatter", "scatter_", "unfold", "pad",
}  # fmt: skip
_MATMUL = {"mm", "addmm", "bmm", "baddbmm", "addbmm"}
_SDPA_PREFIX = "_scaled_dot_product_"
_JOIN = {"cat", "stack"}
_INTERP = {"nearest": 1, "linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}
_POOL = {"max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"}
_REDUCE = {"sum", "mean", "amax", "amin", "max", "min", "prod", "logsumexp", "var", "std"}
_SOFTMAX = {"softmax", "_softmax", "log_softmax", "_log_softmax", "_safe_softmax"}
_NORMS = {
    "native_layer_norm", "native_batch_norm", "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training", "native_group_norm", "_fused_rms_norm", "rms_norm",
}  # fmt: skip


def op_taps(func, args: tuple, kwargs: dict, out) -> OpTaps | None:
    """The op's kind, outputs and connections (whole batch), or None for storage ops."""
    name = func.overloadpacket.__name__
    ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
    outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
    if not ins or not outs or func.is_view or name in _STORAGE or outs[0].dtype == torch.bool:
        return None
    y = outs[0]
    for family in (_matmul, _convolution, _sdpa, _join, _resample, _pool, _softmax, _norm):
        taps = family(name, args, y)
        if taps is not None:
            return taps
    if name in _REDUCE or name.split(".")[0].rstrip("_") in _REDUCE:
        return OpTaps(Kind.LAYER, y.numel(), ins[0].numel())  # each output reads in/out units
    if name == "embedding":
        return OpTaps(Kind.LAYER, y.numel(), y.numel())
    if torch.Tag.pointwise in func.tags:
        return _pointwise(ins, y)
    return OpTaps(Kind.UNSUPPORTED, y.numel(), None)


def _matmul(name, args, y) -> OpTaps | None:
    if name not in _MATMUL:
        return None
    a = args[0] if name in ("mm", "bmm") else args[1]
    return OpTaps(Kind.LAYER, y.numel(), y.numel() * a.shape[-1])


def _convolution(name, args, y) -> OpTaps | None:
    if name not in ("convolution", "_convolution", "convolution_overrideable"):
        return None
    x, w, transposed = args[0], args[1], args[6]
    # weight is (C_out, C_in/g, *k), or (C_in, C_out/g, *k) when transposed
    taps = x.numel() if transposed else y.numel()
    return OpTaps(Kind.LAYER, y.numel(), taps * prod(w.shape[1:]))


def _sdpa(name, args, y) -> OpTaps | None:
    if not name.startswith(_SDPA_PREFIX):
        return None
    q, k, v = args[:3]
    lead, tgt, d = prod(q.shape[:-2]), q.shape[-2], q.shape[-1]
    src, dv = k.shape[-2], v.shape[-1]
    return OpTaps(Kind.LAYER, y.numel(), lead * tgt * src * (d + dv))


def _join(name, args, y) -> OpTaps | None:
    return OpTaps(Kind.LAYER, y.numel(), y.numel()) if name in _JOIN else None


def _resample(name, args, y) -> OpTaps | None:
    if not name.lstrip("_").startswith("upsample_"):
        return None
    mode = name.lstrip("_").removeprefix("upsample_").rstrip("123d_a").removesuffix("_exact")
    taps = _INTERP.get(mode)
    return OpTaps(Kind.LAYER, y.numel(), None if taps is None else y.numel() * taps)


def _pool(name, args, y) -> OpTaps | None:
    base = name.removesuffix("_with_indices").lstrip("_")
    if base in _POOL:
        dims = int(base[-2])
        return OpTaps(Kind.LAYER, y.numel(), y.numel() * prod(per_dim(args[1], dims)))
    if base.startswith("adaptive_") and base[-2].isdigit():
        dims, x = int(base[-2]), args[0]
        sizes = zip(spatial(tuple(x.shape), dims), spatial(tuple(y.shape), dims))
        windows = prod(adaptive_window_sum(i, o) for i, o in sizes)
        return OpTaps(Kind.LAYER, y.numel(), y.numel() // prod(y.shape[-dims:]) * windows)
    return None


def _softmax(name, args, y) -> OpTaps | None:
    if name not in _SOFTMAX:
        return None
    return OpTaps(Kind.ELEMENTWISE, y.numel(), y.numel() * y.shape[args[1]])


def _norm(name, args, y) -> OpTaps | None:
    return OpTaps(Kind.NORM, y.numel(), y.numel()) if name in _NORMS else None


def _pointwise(ins: list[torch.Tensor], y: torch.Tensor) -> OpTaps:
    """x + y reads two units per output; x * 0.5 or relu(x) is element-wise (one)."""
    operands = sum(1 for t in ins if t.dim() > 0 and t.dtype != torch.bool)
    if operands >= 2:
        return OpTaps(Kind.LAYER, y.numel(), y.numel() * operands)
    return OpTaps(Kind.ELEMENTWISE, y.numel(), y.numel())
