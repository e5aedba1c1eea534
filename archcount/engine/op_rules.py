"""Connections of one aten op, whole batch: the dispatch pass's table for functional arithmetic.

How each family is counted (nominal taps, as the module rules count them):
  mm/addmm/bmm/baddbmm      K per output (the contracted size); a bias add is not a connection
  convolution               as nn.ConvNd / nn.ConvTransposeNd
  scaled_dot_product_*      L*S*d (scores) + L*S*dv (weighted values) per batch and head
  cat/stack                 1 per output: each output copies one input unit
  add/sub/mul/... (pointwise on >= 2 non-scalar tensors)   one per operand per output (2 for x+y)
  pointwise on one tensor (relu, x*0.5, ...)                an element-wise op: 1 per output, and
                            like an activation it adds nothing under the `units` convention
  upsample/interpolate      nearest 1, linear 2, bilinear 4, bicubic 16, trilinear 8 per output;
                            antialiased (_aa) the same when upsampling, unknown when shrinking;
                            mode="area" runs _adaptive_avg_pool*d
  max/avg pool              prod(kernel) per output; adaptive pools: the actual window sizes
  sum/mean/amax/... (reductions)   input elements / output elements per output
  softmax/log_softmax       the normalised dim's size per output (element-wise, like nn.Softmax)
  layer/batch/group norm    1 per output (a norm, like the module rule)
  embedding                 1 per output
Views, copies, casts, factories, indexing and boolean masks are storage, not arithmetic: they
are not recorded. Any other op is recorded with unknown connections, never as zero.

To count a new op: `@op_rule(torch.ops.aten.my_op)` on a function of (args, kwargs, out) where
every tensor is already its shape; it returns the connections of the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from math import prod

import torch
from torch.utils._pytree import tree_leaves, tree_map

from archcount.engine.registry import OpRegistry, OpRule, Shape, failure
from archcount.engine.taps import INTERP_TAPS, adaptive_taps, per_dim, spatial
from archcount.errors import RuleError
from archcount.records import Kind

OP_RULES = OpRegistry()
op_rule = OP_RULES.register
aten = torch.ops.aten


def _present(*names: str) -> list:
    """The packets of `names` this torch build has (newer kernels are missing from older ones)."""
    return [getattr(aten, n) for n in names if hasattr(aten, n)]


@dataclass(frozen=True)
class OpTaps:
    """What one op call adds, whole batch; connections None when no formula is known."""

    kind: Kind
    outputs: int
    connections: int | None
    error: str | None = None  # the rule raised: "ValueError: ..." (connections then None)


def as_shapes(obj):
    """`obj` (nested args) with every tensor replaced by tuple(tensor.shape)."""
    return tree_map(lambda v: tuple(v.shape) if isinstance(v, torch.Tensor) else v, obj)


def op_taps(func, args: tuple, kwargs: dict, out, registry: OpRegistry | None = None):
    """The op's kind, outputs and connections (whole batch), or None for storage ops."""
    ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
    outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
    if not ins or not outs or func.is_view or outs[0].dtype == torch.bool:
        return None
    y = tuple(outs[0].shape)
    rule = (registry or OP_RULES).lookup(func)
    if rule is None:
        return _fallback(func, ins, y)
    if rule.fn is None:
        return None
    return _applied(func, rule, as_shapes(args), as_shapes(kwargs or {}), y)


def _applied(func, rule: OpRule, args: tuple, kwargs: dict, y: Shape) -> OpTaps:
    """rule.fn on shapes; a rule that raises gives unknown connections and the error."""
    try:
        n = rule.fn(args, kwargs, y)
    except Exception as exc:  # a configuration the rule cannot count: unknown, not a crash
        return OpTaps(rule.kind, prod(y), None, failure(exc))
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise RuleError(f"the rule for aten.{func.overloadpacket.__name__} returned {n!r}")
    return OpTaps(rule.kind, prod(y), n)


def _fallback(func, ins: list[torch.Tensor], y: Shape) -> OpTaps:
    """x + y reads two units per output; x * 0.5 or relu(x) is element-wise (one)."""
    if torch.Tag.pointwise not in func.tags:
        return OpTaps(Kind.UNSUPPORTED, prod(y), None)
    operands = sum(1 for t in ins if t.dim() > 0 and t.dtype != torch.bool)
    if operands >= 2:
        return OpTaps(Kind.LAYER, prod(y), prod(y) * operands)
    return OpTaps(Kind.ELEMENTWISE, prod(y), prod(y))


OP_RULES.add(
    [
        aten._unsafe_view, aten.view, aten.reshape, aten.clone, aten.contiguous, aten._to_copy,
        aten.copy, aten.copy_, aten.detach, aten.alias, aten.lift_fresh, aten.lift_fresh_copy,
        aten.index, aten.index_select, aten.gather, aten.select, aten.slice, aten.narrow,
        aten.repeat, aten.flip, aten.roll, aten.tril, aten.triu, aten.fill, aten.fill_,
        aten.zero_, aten.constant_pad_nd, aten.split, aten.split_with_sizes, aten.unbind,
        aten.empty_like, aten.zeros_like, aten.ones_like, aten.full_like, aten.new_empty,
        aten.new_zeros, aten.new_ones, aten.new_full, aten.scalar_tensor, aten.masked_fill,
        aten.masked_fill_, aten.where, aten.native_dropout, aten.dropout, aten.bernoulli_,
        aten._local_scalar_dense, aten.slice_scatter, aten.select_scatter, aten.index_put,
        aten.index_put_, aten.scatter, aten.scatter_, aten.unfold, aten.pad,
        *_present("_reshape_alias", "_assert_tensor_metadata"),
    ],
    Kind.VIEW,
)  # fmt: skip


@op_rule(aten.mm, aten.bmm)
def matmul(args, kwargs, out):
    """outputs * K, K = a's last dim (the contracted size)."""
    return prod(out) * args[0][-1]


@op_rule(aten.addmm, aten.baddbmm, aten.addbmm)
def matmul_add(args, kwargs, out):
    """outputs * K, K = the first factor's last dim; the added term is not a connection."""
    return prod(out) * args[1][-1]


@op_rule(aten.convolution, aten._convolution, aten.convolution_overrideable)
def convolution(args, kwargs, out):
    """(outputs, or inputs when transposed) * prod(weight[1:]) = C_in/g * prod(k) per output."""
    x, w, transposed = args[0], args[1], args[6]
    # weight is (C_out, C_in/g, *k), or (C_in, C_out/g, *k) when transposed
    return prod(x if transposed else out) * prod(w[1:])


@op_rule(
    *_present(
        "_scaled_dot_product_attention_math",
        "_scaled_dot_product_attention_math_for_mps",
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable",
    )
)
def attention(args, kwargs, out):
    """N*H * L*S*(d + dv): QK^T reads d per score, AV reads S per value."""
    q, k, v = args[:3]
    return prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def per_output(args, kwargs, out, *, taps: int = 1):
    """outputs * taps."""
    return prod(out) * taps


OP_RULES.add([aten.cat, aten.stack, aten.embedding], Kind.LAYER, per_output)
OP_RULES.add(
    [
        aten.native_layer_norm, aten.native_batch_norm, aten._native_batch_norm_legit,
        aten._native_batch_norm_legit_no_training, aten.native_group_norm,
        *_present("_fused_rms_norm", "rms_norm"),
    ],
    Kind.NORM,
    per_output,
)  # fmt: skip

_RESAMPLE = {  # each interpolation mode's ops; its taps per output are taps.INTERP_TAPS
    "nearest": [aten.upsample_nearest1d, aten.upsample_nearest2d, aten.upsample_nearest3d],
    "nearest-exact": _present(
        "_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d"
    ),
    "linear": [aten.upsample_linear1d],
    "bilinear": [aten.upsample_bilinear2d],
    "bicubic": [aten.upsample_bicubic2d],
    "trilinear": [aten.upsample_trilinear3d],
}
for _mode, _packets in _RESAMPLE.items():
    OP_RULES.add(_packets, Kind.LAYER, partial(per_output, taps=INTERP_TAPS[_mode]))


def resample_antialiased(args, kwargs, out, *, taps: int):
    """outputs * taps when no spatial dim shrinks; None (unknown) when one does."""
    # Shrinking, the antialias filter widens with the scale: its taps are not the nominal ones.
    x = args[0]
    return None if any(o < i for o, i in zip(spatial(out, 2), spatial(x, 2))) else prod(out) * taps


for _mode in ("bilinear", "bicubic"):
    _aa = partial(resample_antialiased, taps=INTERP_TAPS[_mode])
    OP_RULES.add(_present(f"_upsample_{_mode}2d_aa"), Kind.LAYER, _aa)


def pool_window(args, kwargs, out, *, dims: int):
    """outputs * prod(kernel): args[1] is the kernel size."""
    return prod(out) * prod(per_dim(args[1], dims))


def adaptive_pool(args, kwargs, out, *, dims: int):
    """Sum of the actual windows, as nn.AdaptiveAvgPool counts them (taps.adaptive_taps)."""
    return adaptive_taps(args[0], out, dims)


_POOLS = {  # the number of spatial dims of each op, bound here rather than read from its name
    1: [aten.max_pool1d, aten.max_pool1d_with_indices, aten.avg_pool1d],
    2: [aten.max_pool2d, aten.max_pool2d_with_indices, aten.avg_pool2d],
    3: [aten.max_pool3d, aten.max_pool3d_with_indices, aten.avg_pool3d],
}
_ADAPTIVE = {
    1: [aten.adaptive_avg_pool1d, aten.adaptive_max_pool1d],
    2: [aten.adaptive_avg_pool2d, aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d],
    3: [aten.adaptive_avg_pool3d, aten._adaptive_avg_pool3d, aten.adaptive_max_pool3d],
}
for _dims in (1, 2, 3):
    OP_RULES.add(_POOLS[_dims], Kind.LAYER, partial(pool_window, dims=_dims))
    OP_RULES.add(_ADAPTIVE[_dims], Kind.LAYER, partial(adaptive_pool, dims=_dims))


@op_rule(
    aten.sum, aten.mean, aten.amax, aten.amin, aten.max, aten.min, aten.prod,
    aten.logsumexp, aten.var, aten.std,
)  # fmt: skip
def reduction(args, kwargs, out):
    """Input elements: each output reads in/out of them."""
    return prod(args[0])


@op_rule(
    aten.softmax, aten._softmax, aten.log_softmax, aten._log_softmax,
    *_present("_safe_softmax"),
    kind=Kind.ELEMENTWISE,
)  # fmt: skip
def softmax(args, kwargs, out):
    """outputs * size of the normalised dim args[1]."""
    return prod(out) * out[args[1]]
