"""archcount's per-layer numbers recomputed under torchinfo's and fvcore's conventions.

Each view takes one module's group (its rows, per example, the module, its parameter counts)
and returns the number that peer should report for that module, and why it differs from
archcount's, so a difference in the totals is explained layer by layer. The peers' own rules,
from their source:
  torchinfo  mult-adds of a *leaf* module = for its `weight`/`bias`: params * (batch * output
             positions) for a class named *Conv* (transposed too), else params * batch;
             other *weight*/*bias* params: params * prod(output[:2]). Non-leaf modules add 0.
  fvcore     one FLOP per multiply-add of aten::_convolution (transposed: input positions),
             linear/addmm/matmul/bmm/einsum; batch_norm in eval 2/element (1 without affine),
             layer/group norm 5/element (4 without affine), instance norm 5 or 4,
             upsample_nearest2d 1/output, upsample_bilinear2d 4/output, adaptive_avg_pool2d
             1/input; everything else (pools, activations, cat, add) 0. Activations: the
             outputs of conv/linear/matmul-family ops only. Biases are never FLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from torch import nn

from archcount.records import LayerCount

Shape = tuple[int, ...]


@dataclass(frozen=True)
class View:
    """One module's number under a peer's convention (per example), and why it differs."""

    value: int
    why: str = ""


def _ours(rows: list[LayerCount], field: str) -> int:
    return sum(getattr(r, field) or 0 for r in rows)


def torchinfo_params(g, batch: int) -> View:
    """Every parameter the module holds, biases included, a shared one again in each holder."""
    value, ours = g.all_params, _ours(list(g.rows), "weights")
    why = "torchinfo counts every parameter (biases too), shared ones in each module"
    return View(value, "" if value == ours else why)


def torchinfo_macs(g, batch: int) -> View:
    """torchinfo's leaf formula on each call's output shape, divided by the batch."""
    rows, m = list(g.rows), g.module
    if m is None:
        return View(0, "torchinfo sees modules only, not functional ops")
    if any(True for _ in m.children()):
        # torchinfo sums leaf modules only; MHA's one child (out_proj) never runs forward
        return View(0, f"torchinfo counts only leaf modules: {type(m).__name__} adds 0")
    total = sum(_torchinfo_leaf(m, r.output_shape or ()) for r in rows) // max(batch, 1)
    return View(total, _torchinfo_why(m, rows, total))


def _torchinfo_leaf(m: nn.Module, out: Shape) -> int:
    macs = 0
    for name, p in m.named_parameters():
        if name in ("weight", "bias"):
            # torchinfo's own rule tests the class name (layer_info.py: `"Conv" in
            # self.class_name`): reproduced as is, so a class named *Conv* counts as it does
            if "Conv" in type(m).__name__:
                macs += p.numel() * prod(out[:1] + out[2:])
            else:
                macs += (out[0] if out else 1) * p.numel()
        elif "weight" in name or "bias" in name:
            macs += prod(out[:2]) * p.numel()
    return macs


def _torchinfo_why(m: nn.Module, rows: list[LayerCount], value: int) -> str:
    if value == _ours(rows, "connections"):
        return ""
    if not any(True for _ in m.parameters()):
        return "torchinfo counts a layer without parameters as 0"
    if isinstance(m, nn.modules.conv._ConvTransposeNd):
        return "torchinfo: weights (+bias) x output positions; archcount: x input positions"
    if isinstance(m, nn.modules.conv._ConvNd):
        return "torchinfo adds the bias: + C_out x output positions"
    if isinstance(m, nn.Linear) and rows and len(rows[0].output_shape or ()) > 2:
        return "torchinfo: params x batch only (not x positions), bias included"
    if isinstance(m, nn.Linear):
        return "torchinfo adds the bias: + out_features"
    return "torchinfo: parameters x batch, not taps per output"


def fvcore_params(g, batch: int) -> View:
    """fvcore's parameter_count: every parameter once, biases included."""
    value, ours = g.first_params, _ours(list(g.rows), "weights")
    return View(value, "" if value == ours else "fvcore counts every parameter (biases too)")


def fvcore_flops(g, batch: int) -> View:
    """fvcore's handles applied to the module's calls (per example)."""
    rows, m = list(g.rows), g.module
    ours = _ours(rows, "connections")
    if m is None:
        return _fvcore_op_flops(rows)
    value, why = _fvcore_module_flops(m, rows, max(batch, 1))
    return View(value, "" if value == ours else why)


def _fvcore_module_flops(m: nn.Module, rows: list[LayerCount], batch: int) -> tuple[int, str]:
    per = sum(prod(r.output_shape or ()) for r in rows) // batch  # elements per example
    if isinstance(m, nn.MultiheadAttention):
        return _fvcore_mha_flops(m, rows, batch)
    if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
        return _ours(rows, "connections"), "fvcore leaves the bias out"
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        k = 2 if m.affine else 1
        return k * per, f"fvcore: eval batch_norm is {k} FLOP(s) per element"
    if isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)):
        affine = getattr(m, "elementwise_affine", getattr(m, "affine", False))
        k = 5 if affine else 4
        return k * per, f"fvcore: {type(m).__name__} is {k} FLOPs per element"
    if isinstance(m, nn.Upsample) and m.mode in ("nearest", "bilinear") and _dims(rows) == 2:
        return _ours(rows, "connections"), ""
    if isinstance(m, nn.AdaptiveAvgPool2d):
        ins = sum(prod(r.input_shape or ()) for r in rows) // batch
        return ins, "fvcore: adaptive_avg_pool2d is 1 FLOP per input element"
    return 0, f"fvcore has no FLOP handle for {type(m).__name__}'s op: 0"


def _mha_sizes(m: nn.MultiheadAttention, row: LayerCount, batch: int) -> tuple[int, int, int]:
    """(L, S', E) per example: L from the output, S' from the rule's connections."""
    e = m.embed_dim
    tgt = prod(row.output_shape or ()) // batch // e
    # the rule: L*E*E*2 + S*E*(kdim+vdim) + 2*L*S'*E; here kdim = vdim = E (packed weights)
    attention = (row.connections or 0) - 2 * tgt * e * e
    src = attention // (2 * e + 2 * tgt) // e if m.kdim == m.vdim == e else 0
    return tgt, src, e


def _fvcore_mha_flops(m, rows: list[LayerCount], batch: int) -> tuple[int, str]:
    """Projections only when need_weights=False: fvcore has no scaled_dot_product_attention."""
    total = 0
    for r in rows:
        tgt, src, e = _mha_sizes(m, r, batch)
        weights_returned = r.outputs > tgt * e  # need_weights=True: bmm path, counted
        attention = 2 * tgt * src * e
        total += (r.connections or 0) - (0 if weights_returned else attention)
    why = "fvcore has no handle for aten::scaled_dot_product_attention: QK^T and AV count 0"
    return total, why


def _fvcore_mha_acts(m: nn.MultiheadAttention, r: LayerCount, batch: int) -> int:
    """Outputs of the q, k, v and out projections, plus the two bmm outputs when weights return."""
    tgt, src, e = _mha_sizes(m, r, batch)
    weights = r.outputs - tgt * e  # the head-averaged attention weights, L*S, when returned
    bmm = m.num_heads * weights + tgt * e if weights else 0
    return 2 * (tgt + src) * e + bmm


def _fvcore_op_flops(rows: list[LayerCount]) -> View:
    op = rows[0].type if rows else ""
    handled = ("aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm", "aten.convolution")
    if op in handled or op.startswith("aten.upsample_nearest2d"):
        return View(_ours(rows, "connections"))
    if op == "aten.upsample_bilinear2d":
        return View(_ours(rows, "connections"))
    return View(0, f"fvcore counts {op or 'this op'} as 0")


def fvcore_acts(g, batch: int) -> View:
    """fvcore's activations: outputs of conv, linear and matmul-family ops only."""
    rows, m = list(g.rows), g.module
    ours = _ours(rows, "outputs")
    if m is None:
        mm = rows and rows[0].type in ("aten.mm", "aten.addmm", "aten.bmm", "aten.convolution")
        value = ours if mm else 0
    elif isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
        value = ours
    elif isinstance(m, nn.MultiheadAttention):  # in-projections' and out_proj's outputs
        value = sum(_fvcore_mha_acts(m, r, batch) for r in rows)
    else:
        value = 0
    what = type(m).__name__ if m is not None else (rows[0].type if rows else "this op")
    why = f"fvcore counts only conv/linear/matmul outputs: {what} adds 0"
    return View(value, "" if value == ours else why)


def _dims(rows: list[LayerCount]) -> int:
    return len(rows[0].output_shape or ()) - 2 if rows else 0
