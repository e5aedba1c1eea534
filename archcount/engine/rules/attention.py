"""The attention family: nn.MultiheadAttention, the fused attention kernels forward and
backward (FlopCounterMode's formulas), side by side.

  forward   N·H·L·S·(d + dv): QKᵀ reads d per score, AV reads S per value; q is (N, H, L, d)
  backward  N·H·L·S·(3d + 2dv): the scores recomputed (d), dP = dO·Vᵀ (dv), dV = Pᵀ·dO (dv),
            dQ = dS·K (d), dK = dSᵀ·Q (d); the recompute and dP are shared work, done once
            whatever needs a gradient
On the meta device attention decomposes into bmm, whose rules then apply.
"""

from __future__ import annotations

from math import prod

import torch
from torch import nn

from archcount.engine.rules.registry import BACKWARD_RULES, OP_RULES, RULES, Grads, present

# nn.MultiheadAttention runs F.multi_head_attention_forward on its own parameters, so its
# out_proj child never runs forward: the module is counted whole by this rule. The
# transformer layers need no rule of their own: their children (this MHA, Linear, LayerNorm,
# Dropout) are hooked one by one, and their residual adds are functional ops.


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


@RULES.register(nn.MultiheadAttention, biases=_mha_biases)
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


def _scores(q, k, heads_first: bool) -> int:
    """N·H·L·S of q and k, (N, H, L, d) or, heads second, (N, L, H, d)."""
    if heads_first:
        return prod(q[:-2]) * q[-2] * k[-2]
    return q[0] * q[2] * q[1] * k[1]


def attention_macs(q, k, v, heads_first: bool = True) -> int:
    """N·H·L·S·(d + dv)."""
    return _scores(q, k, heads_first) * (q[-1] + v[-1])


def attention_backward_grads(q, k, v, heads_first: bool = True) -> Grads:
    """dQ and dK N·H·L·S·d each, dV N·H·L·S·dv, shared N·H·L·S·(d + dv): 3d + 2dv in all."""
    s, d, dv = _scores(q, k, heads_first), q[-1], v[-1]
    return Grads(s * (d + dv), {"query": s * d, "key": s * d, "value": s * dv}, s * (d + dv))


def attention_backward_macs(q, k, v, heads_first: bool = True) -> int:
    """The whole backward: N·H·L·S·(3d + 2dv) (every gradient needed)."""
    g = attention_backward_grads(q, k, v, heads_first)
    return sum(g.per_arg.values()) + g.shared


_FUSED = present(
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
)
OP_RULES.add(
    [
        *_FUSED,
        *present(
            "_scaled_dot_product_attention_math", "_scaled_dot_product_attention_math_for_mps"
        ),
    ],
    lambda a, out: attention_macs(a["query"], a["key"], a["value"]),
)
OP_RULES.add(
    present("_flash_attention_forward", "_efficient_attention_forward"),
    lambda a, out: attention_macs(a["query"], a["key"], a["value"], heads_first=False),
)
OP_RULES.add(
    present(*(f"{x.__name__}_backward" for x in _FUSED)),
    lambda a, out: attention_backward_macs(a["query"], a["key"], a["value"]),
)
OP_RULES.add(
    present("_flash_attention_backward", "_efficient_attention_backward"),
    lambda a, out: attention_backward_macs(a["query"], a["key"], a["value"], heads_first=False),
)
BACKWARD_RULES.add(
    _FUSED, lambda a, out: attention_backward_grads(a["query"], a["key"], a["value"])
)

_HOP = torch.ops.higher_order
if hasattr(_HOP, "flex_attention"):  # a higher-order op with no schema: q, k, v are arg0..2

    @OP_RULES.register(_HOP.flex_attention)
    def flex_attention(a, out):
        """As the fused kernels: every score of the block mask's full L x S counts (nominal)."""
        return attention_macs(a["arg0"], a["arg1"], a["arg2"])

    @OP_RULES.register(_HOP.flex_attention_backward)
    def flex_attention_backward(a, out):
        """As the fused kernels' backward, q, k, v first."""
        return attention_backward_macs(a["arg0"], a["arg1"], a["arg2"])
