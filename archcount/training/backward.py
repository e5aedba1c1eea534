"""Backward multiply-adds of one aten op, from its forward shapes: the per-op backward rules.

A rule sees the forward op's args and kwargs with every tensor replaced by its shape, and the
shape of its first output, and returns a Grads: the op's forward multiply-adds, the
multiply-adds of the gradient with respect to each tensor argument (by position), and work
the backward does once whatever needs a gradient (flash attention recomputes its scores).
The pass charges an argument's gradient only when that argument requires grad, as autograd
computes it only then (a frozen weight has no weight-gradient work; activations upstream of
every trainable parameter need no input gradient).

  mm, bmm                       f = outputs * K; d(a) = d(b) = f (grad @ bᵀ, aᵀ @ grad)
  addmm, baddbmm, addbmm        the same for the two factors; the added term's grad is a sum
  convolution (and transposed)  f as engine.op_rules.convolution; d(x) = d(w) = f
  fused attention (flash, efficient, cudnn, CPU flash)
                                f = N·H·L·S·(d + dv); d(q) = d(k) = N·H·L·S·d, d(v) = N·H·L·S·dv,
                                plus N·H·L·S·(d + dv) recomputed (scores, and dP = dO·Vᵀ)
Element-wise, normalisation, pooling and resampling backward work is not multiply-add work:
it is not counted (as FlopCounterMode does not). On the meta device attention decomposes into
bmm, whose rule then applies.

To add an op: `@backward_rule(torch.ops.aten.my_op)` on fn(args, kwargs, out) -> Grads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import torch

from archcount.engine.op_rules import attention as _attention_macs
from archcount.engine.op_rules import convolution as _conv_macs
from archcount.engine.op_rules import matmul as _mm_macs
from archcount.engine.op_rules import matmul_add as _mm_add_macs
from archcount.engine.registry import OpRegistry

BACKWARD_RULES = OpRegistry()
aten = torch.ops.aten


def backward_rule(*packets):
    """Decorator: register a backward rule for every packet; refuses duplicates."""
    return BACKWARD_RULES.register(*packets)


@dataclass(frozen=True)
class Grads:
    """One op's forward MACs, its gradient MACs per tensor argument, and shared backward work."""

    forward: int
    per_arg: dict[int, int] = field(default_factory=dict)
    shared: int = 0


def _present(*names: str) -> list:
    return [getattr(aten, n) for n in names if hasattr(aten, n)]


@backward_rule(aten.mm, aten.bmm)
def matmul(args, kwargs, out) -> Grads:
    """d(a) = grad @ bᵀ and d(b) = aᵀ @ grad: each as many MACs as the forward."""
    f = _mm_macs(args, kwargs, out)
    return Grads(f, {0: f, 1: f})


@backward_rule(aten.addmm, aten.baddbmm)
def matmul_add(args, kwargs, out) -> Grads:
    """As mm for the factors (args 1 and 2); the added term's gradient is a sum, no MACs."""
    f = _mm_add_macs(args, kwargs, out)
    return Grads(f, {1: f, 2: f})


@backward_rule(aten.addbmm)
def batched_matmul_sum(args, kwargs, out) -> Grads:
    """Σ_b a_b @ b_b added to args[0]: f = b·n·k·p; each factor's gradient the same."""
    f = prod(args[1]) * args[2][-1]
    return Grads(f, {1: f, 2: f})


@backward_rule(aten.convolution, aten._convolution, aten.convolution_overrideable)
def convolution(args, kwargs, out) -> Grads:
    """d(x) is the transposed convolution of the gradient, d(w) the correlation: f each."""
    f = _conv_macs(args, kwargs, out)
    return Grads(f, {0: f, 1: f})


@backward_rule(
    *_present(
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable",
    )
)
def attention(args, kwargs, out) -> Grads:
    """Fused kernels recompute the scores: 5 products in the backward against 2 forward."""
    q, k, v = args[:3]
    scores = prod(q[:-2]) * q[-2] * k[-2]  # N·H·L·S
    d, dv = q[-1], v[-1]
    return Grads(
        _attention_macs(args, kwargs, out),
        {0: scores * d, 1: scores * d, 2: scores * dv},
        shared=scores * (d + dv),
    )
