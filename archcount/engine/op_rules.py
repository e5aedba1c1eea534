"""Connections of one aten op, whole batch: the dispatch pass's table for functional arithmetic.

How each family is counted (nominal taps, as the module rules count them):
  mm/addmm/bmm/baddbmm      K per output (the contracted size); a bias add is not a connection
  _grouped_mm (MoE experts) K per output, each token row against its own expert's matrix
  convolution               as nn.ConvNd / nn.ConvTransposeNd
  scaled_dot_product_*      L*S*d (scores) + L*S*dv (weighted values) per batch and head
  cat/stack                 a view (adds nothing): each output copies one input unit; copies
                            into a kept state (a KV cache) are shown apart as cache copies
  add/sub/mul/... (pointwise on >= 2 non-scalar tensors)   one per operand per output (2 for x+y)
  pointwise on one tensor (relu, x*0.5, ...)                an element-wise op: 1 per output, and
                            like an activation it adds nothing under the `units` convention
  upsample/interpolate      nearest 1, linear 2, bilinear 4, bicubic 16, trilinear 8 per output;
                            antialiased (_aa) the same when upsampling, unknown when shrinking;
                            mode="area" runs _adaptive_avg_pool*d
  max/avg pool              prod(kernel) per output; adaptive pools: the actual window sizes
  sum/mean/amax/... (reductions)   input elements / output elements per output (histc too)
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
from torch.utils._pytree import tree_map

from archcount.engine.registry import OpRegistry, OpRule, Shape, Taps, failure
from archcount.engine.tags import root, set_root
from archcount.engine.taps import INTERP_TAPS, adaptive_taps, hits, per_dim, spatial
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
    nominal: int | None
    exact: int | None = None
    error: str | None = None  # the rule raised: "ValueError: ..." (connections then None)

    @property
    def connections(self) -> int | None:
        """The nominal connections."""
        return self.nominal


def as_shapes(obj):
    """`obj` (nested args) with every tensor replaced by tuple(tensor.shape)."""
    return tree_map(lambda v: tuple(v.shape) if isinstance(v, torch.Tensor) else v, obj)


def op_taps(func, args, kwargs, outs, ins, registry=None, rule=None, pointwise=None):
    """The op's kind, outputs and connections (whole batch), or None when it is no arithmetic.

    `outs`/`ins` are the op's output and input tensors; `rule` its OpRule (looked up when
    None); `pointwise` whether the op is tagged pointwise (read when None).
    """
    if not ins or outs[0].dtype == torch.bool:
        return None
    if rule is None:
        rule = (registry or OP_RULES).lookup(func)
    y = tuple(outs[0].shape)
    if rule is None:
        if func.is_view:
            return None
        if pointwise is None:
            pointwise = torch.Tag.pointwise in func.tags
        return _fallback(ins, outs, y) if pointwise else OpTaps(Kind.UNSUPPORTED, prod(y), None)
    if rule.fn is None:
        return None
    return _applied(func, rule, as_shapes(args), as_shapes(kwargs or {}), y)


def _applied(func, rule: OpRule, args: tuple, kwargs: dict, y: Shape) -> OpTaps:
    """rule.fn on shapes; a rule that raises gives unknown connections and the error."""
    try:
        n = rule.fn(args, kwargs, y)
    except Exception as exc:  # a configuration the rule cannot count: unknown, not a crash
        return OpTaps(rule.kind, prod(y), None, None, failure(exc))
    if isinstance(n, Taps):
        nominal, exact = n.nominal, n.exact
    else:
        nominal = exact = n
    for v in (nominal, exact):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise RuleError(f"the rule for aten.{func.overloadpacket.__name__} returned {n!r}")
    return OpTaps(rule.kind, prod(y), nominal, exact)


def _fallback(ins, outs, y: Shape) -> OpTaps:
    """x + y reads two units per output; x * 0.5, relu(x) or x + 0.04 * x**3 is element-wise."""
    roots = []
    for t in ins:
        if t.dim() > 0 and t.dtype != torch.bool:
            r = root(t)
            if not any(r is s for s in roots):
                roots.append(r)
    n = prod(y)
    if len(roots) >= 2:
        return OpTaps(Kind.LAYER, n, n * len(roots), n * len(roots))
    set_root(outs, roots[0] if roots else None, ins)
    return OpTaps(Kind.ELEMENTWISE, n, n, n)


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
        aten.uniform_, aten.normal_, aten.random_, aten.exponential_, aten.geometric_,
        aten.cauchy_, aten.log_normal_, aten.multinomial,  # random draws (BigBird's blocks)
        *_present("_reshape_alias", "_assert_tensor_metadata"),
    ],
    Kind.VIEW,
)  # fmt: skip


@op_rule(aten.mm, aten.bmm, *_present("_scaled_mm"))
def matmul(args, kwargs, out):
    """outputs * K, K = a's last dim (the contracted size)."""
    return prod(out) * args[0][-1]


@op_rule(aten.addmm, aten.baddbmm, *_present("_addmm_activation"))
def matmul_add(args, kwargs, out):
    """outputs * K, K = the first factor's last dim; the added term is not a connection."""
    return prod(out) * args[1][-1]


@op_rule(*_present("_grouped_mm"))
def grouped_matmul(args, kwargs, out):
    """Mixture-of-experts: each row (or group) multiplies its own matrix, K taps per output.

    2-D x 3-D (rows grouped by offs), 3-D x 3-D (batched) and 3-D x 2-D (columns grouped):
    outputs * K, K = a's last dim; 2-D x 2-D (K grouped by offs, out (G, M, N)): each output
    of group g reads K_g, which sum to M * N * K over the groups.
    """
    a, b = args[0], args[1]
    if len(a) == 2 and len(b) == 2:
        return a[0] * b[-1] * a[-1]
    return prod(out) * a[-1]


@op_rule(aten.addbmm)
def batch_matmul_summed(args, kwargs, out):
    """B * n * m * p: each (n, p) output sums the B products of m taps."""
    b1 = args[1]
    return prod(out) * b1[0] * b1[-1]


@op_rule(aten.mv, aten.addmv, aten.dot, aten.vdot)
def matrix_vector(args, kwargs, out):
    """outputs * K (mv: rows x K; dot: one output of K); addmv's added vector is not a tap."""
    a = args[1] if len(args) > 2 and len(args[1]) == 2 else args[0]
    return max(prod(out), 1) * a[-1]


@op_rule(aten.addr)
def outer_add(args, kwargs, out):
    """One tap per output of the outer product (vec1[i] * vec2[j]); the added term is not."""
    return prod(out)


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


def convolution(args, kwargs, out):
    """(outputs, or inputs when transposed) * prod(weight[1:]) = C_in/g * prod(k) per output."""
    x, w, transposed = args[0], args[1], args[6]
    # weight is (C_out, C_in/g, *k), or (C_in, C_out/g, *k) when transposed
    return prod(x if transposed else out) * prod(w[1:])


@op_rule(aten.convolution, aten._convolution, aten.convolution_overrideable)
def convolution_taps(args, kwargs, out):
    """Nominal as `convolution`; exact leaves out taps on zero padding (or cropped outputs)."""
    x, w, _, stride, padding, dilation, transposed = args[:7]
    nominal = convolution(args, kwargs, out)
    if len(w) < 3 or isinstance(padding, str):
        return nominal
    return Taps(nominal, _conv_exact(x, w, out, stride, padding, dilation, transposed))


@op_rule(*_present("cudnn_convolution", "_slow_conv2d_forward", "mkldnn_convolution"))
def convolution_plain(args, kwargs, out):
    """outputs * prod(weight[1:]) (these kernels are never transposed)."""
    return prod(out) * prod(args[1][1:])


@op_rule(aten.convolution_backward)
def convolution_backward(args, kwargs, out):
    """The forward's taps once for the input gradient and once for the weight gradient."""
    grad_out, x, w, transposed, mask = args[0], args[1], args[2], args[7], args[10]
    forward = prod(x if transposed else grad_out) * prod(w[1:])
    return forward * (int(mask[0]) + int(mask[1]))


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
    """N*H * L*S*(d + dv): QK^T reads d per score, AV reads S per value; q is (N, H, L, d)."""
    q, k, v = args[:3]
    return prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


@op_rule(*_present("_flash_attention_forward", "_efficient_attention_forward"))
def attention_seq_first(args, kwargs, out):
    """As `attention`, for kernels whose q is (N, L, H, d)."""
    q, k, v = args[:3]
    return q[0] * q[2] * q[1] * k[1] * (q[-1] + v[-1])


@op_rule(
    *_present(
        "_scaled_dot_product_flash_attention_backward",
        "_scaled_dot_product_flash_attention_for_cpu_backward",
        "_scaled_dot_product_efficient_attention_backward",
        "_scaled_dot_product_cudnn_attention_backward",
        "_scaled_dot_product_fused_attention_overrideable_backward",
    )
)
def attention_backward(args, kwargs, out):
    """2 * N*H*L*S*(d + dv): dV, dP, dQ and dK, one score-sized product each (grad, q, k, v)."""
    q, k, v = args[1:4]
    return 2 * prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


@op_rule(*_present("_flash_attention_backward", "_efficient_attention_backward"))
def attention_backward_seq_first(args, kwargs, out):
    """As `attention_backward`, for kernels whose q is (N, L, H, d)."""
    q, k, v = args[1:4]
    return 2 * q[0] * q[2] * q[1] * k[1] * (q[-1] + v[-1])


def per_output(args, kwargs, out, *, taps: int = 1):
    """outputs * taps."""
    return prod(out) * taps


OP_RULES.add([aten.embedding], Kind.LAYER, per_output)
# cat/stack copy each input unit once: a view in both conventions (adds nothing), but the
# copies are tallied, so that those into a kept state show as cache copies (engine.record)
OP_RULES.add([aten.cat, aten.stack], Kind.VIEW, per_output)
OP_RULES.add(
    [
        aten.native_layer_norm, aten.native_batch_norm, aten._native_batch_norm_legit,
        aten._native_batch_norm_legit_no_training, aten.native_group_norm,
        *_present(
            "_fused_rms_norm", "rms_norm", "_native_batch_norm_legit_functional",
            "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm",
            "miopen_batch_norm", "layer_norm", "group_norm", "batch_norm", "instance_norm",
        ),
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


@op_rule(
    aten.var_mean,
    aten.std_mean,
    aten.argmax,
    aten.argmin,
    aten.linalg_vector_norm,
    aten.norm,
    aten.nansum,
    aten.aminmax,
    aten.histc,  # a MoE router's tokens per expert: every input read once
    aten.bincount,
    *_present("_weight_norm_interface"),
)
def reduction_more(args, kwargs, out):
    """Input elements (as `reduction`): each output reads in/out of them."""
    return prod(args[0])


def _dim_size(shape, dim) -> int:
    return shape[dim] if shape else 1


@op_rule(aten.cumsum, aten.cumprod, aten.logcumsumexp, aten.cummax, aten.cummin)
def cumulative(args, kwargs, out):
    """Output i along dim reads i + 1 inputs: others * n(n+1)/2."""
    x, dim = args[0], args[1]
    n = _dim_size(x, dim)
    return prod(x) // max(n, 1) * n * (n + 1) // 2


@op_rule(aten.topk, aten.sort, aten.kthvalue, aten.median, aten.mode, aten.nanmedian)
def ranked(args, kwargs, out):
    """Each output reads its whole slice along the ranked dim (the last unless given)."""
    x = args[0]
    dim = args[2] if args[0:1] and len(args) > 2 and isinstance(args[2], int) else -1
    if "dim" in kwargs:
        dim = kwargs["dim"]
    return prod(out) * _dim_size(x, dim)


@op_rule(
    aten.scatter_add,
    aten.scatter_add_,
    aten.index_add,
    aten.index_add_,
    aten.scatter_reduce,
    aten.scatter_reduce_,
    aten.index_reduce,
    aten.index_reduce_,
)
def scatter_sum(args, kwargs, out):
    """Each output reads itself, and every source element lands on one output: out + src."""
    src = args[-1] if not isinstance(args[-1], str) else args[-2]
    if isinstance(src, (int, float)) or src is None:
        src = args[3]
    return prod(out) + prod(src)


@op_rule(aten._embedding_bag, aten.embedding_bag, *_present("_embedding_bag_forward_only"))
def embedding_bag(args, kwargs, out):
    """Each looked-up row element is added into its bag: indices * dim."""
    weight, indices = args[0], args[1]
    return prod(indices) * weight[-1]


@op_rule(aten.glu, kind=Kind.ELEMENTWISE)
def glu(args, kwargs, out):
    """Two inputs per output (a * sigmoid(b))."""
    return 2 * prod(out)


# Element-wise ops PyTorch does not tag pointwise: one tap per output, as activations.
OP_RULES.add(
    [
        aten.hardswish, aten.hardswish_, aten.log_sigmoid_forward, aten.rrelu_with_noise,
        aten.prelu, aten._prelu_kernel, aten.gelu_, aten.floor_divide, aten.floor_divide_,
    ],
    Kind.ELEMENTWISE,
    per_output,
)  # fmt: skip


_HOP = torch.ops.higher_order
if hasattr(_HOP, "flex_attention"):  # a higher-order op: q, k, v are (N, H, L, d) first args

    @op_rule(_HOP.flex_attention)
    def flex_attention(args, kwargs, out):
        """As `attention`: every score of the block mask's full L x S counts (nominal)."""
        return attention(args, kwargs, out)

    @op_rule(_HOP.flex_attention_backward)
    def flex_attention_backward(args, kwargs, out):
        """As `attention_backward`, q, k, v first."""
        q, k, v = args[:3]
        return 2 * prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])
