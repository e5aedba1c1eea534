"""torch.utils.flop_counter.FlopCounterMode as a --cross-check peer, run on meta.

Its convention, from its source: 2 FLOPs per multiply-add of the ops it has a formula for —
aten convolution (transposed: per input position), mm, addmm, bmm, baddbmm, _scaled_mm and
the fused SDPA kernels (flash, efficient, cudnn: the full L×S scores, no mask); biases never;
every other op (norms, pools, element-wise, embedding, cat, softmax) counts 0. Its MACs are
its FLOPs ÷ 2. It runs on meta: there SDPA and the recurrent layers decompose into
bmm/addmm, which it counts, while on CPU tensors this torch runs them as
`_scaled_dot_product_flash_attention_for_cpu` and `mkldnn_rnn_layer`, which have no formula
and count 0 (pytorch#195460).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from archcount.peers.conventions import View

# Ops FlopCounterMode has a formula for (its flop_registry, forward ones), by our row type.
COUNTED_OPS = frozenset(
    {
        "aten.mm",
        "aten.addmm",
        "aten.bmm",
        "aten.baddbmm",
        "aten.convolution",
        "aten._convolution",
        "aten.convolution_overrideable",
        "aten._scaled_mm",
        "aten._scaled_dot_product_flash_attention",
        "aten._scaled_dot_product_efficient_attention",
        "aten._scaled_dot_product_cudnn_attention",
        # counted by us wherever they ran; FlopCounterMode, on meta, counts their bmm's
        "aten.scaled_dot_product_attention",
        "scaled_dot_product_attention",  # our row type: counted at the F. call, nominal
        "aten._scaled_dot_product_attention_math",
        "aten._scaled_dot_product_flash_attention_for_cpu",
        "aten._scaled_dot_product_fused_attention_overrideable",
    }
)
# Module rules whose connections are all weight or attention taps it counts (on meta).
_COUNTED_MODULES = (
    nn.modules.conv._ConvNd,
    nn.Linear,
    nn.MultiheadAttention,
    nn.RNNBase,
    nn.RNNCellBase,
)
PEER = "FlopCounterMode"


def run_flop_counter(
    model: nn.Module,
    args: tuple,
    kwargs: Mapping | None,
    batch: int,
    named_like: nn.Module | None = None,
):
    """Its total MACs per example and its own per-module MACs, on meta tensors; modules are
    looked up by their names in `named_like` (the real model the rows were counted on)."""
    from torch.utils.flop_counter import FlopCounterMode

    from archcount.engine.stack import mode

    counter = FlopCounterMode(display=False)
    with mode(model, False), torch.no_grad(), counter:
        model(*args, **dict(kwargs or {}))
    by_module = counter.get_flop_counts()
    root = type(model).__name__
    named = (named_like or model).named_modules()
    names = {id(m): f"{root}.{n}" if n else root for n, m in named}

    def own(metric: str, module: nn.Module | None) -> int | None:
        if module is None or id(module) not in names:
            return None
        return sum(by_module.get(names[id(module)], {}).values()) // 2 // batch

    return {"MACs": counter.get_total_flops() // 2 // batch}, own


def flopcounter_macs(g, batch: int) -> View:
    """Our row under its convention: conv/matmul/attention taps count, everything else 0."""
    rows, m = list(g.rows), g.module
    ours = sum(r.connections or 0 for r in rows)
    op_rows = [r for r in rows if getattr(r, "ops", None)]  # rows counted from their aten ops
    if op_rows:
        value = sum(c or 0 for r in op_rows for op, _calls, c in r.ops if op in COUNTED_OPS)
        return View(value, "" if value == ours else _why_ops(op_rows))
    if m is None:  # a functional op's row: its type is the op
        op = rows[0].type if rows else ""
        if op in COUNTED_OPS:
            return View(ours)
        return View(0, f"FlopCounterMode has no formula for {op or 'this op'}: 0")
    if isinstance(m, _COUNTED_MODULES):
        return View(ours)
    if ours == 0:
        return View(0)
    return View(0, f"FlopCounterMode counts only conv, matmul and attention: {type(m).__name__} 0")


def _why_ops(rows) -> str:
    other = sorted({op for r in rows for op, _calls, c in r.ops if op not in COUNTED_OPS and c})
    return f"FlopCounterMode has no formula for {', '.join(other)}: 0" if other else ""
