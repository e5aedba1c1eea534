"""Reductions, scans, ranking and scatter-adds (aten ops), and their receptive field.

sum/mean/amax/... (reductions)   input elements: each output reads in/out of them
cumsum/cumprod/...               output i along dim reads i + 1 inputs
topk/sort/median/...             each output reads its whole slice along the ranked dim
scatter_add/index_add/...        each output reads itself, every source lands on one
field                            a reduction over channels keeps it; one over space: unknown
"""

from __future__ import annotations

from math import prod

from archcount.engine.rules.registry import FIELD_RULES, OP_RULES, Role, aten, identity, present


@OP_RULES.register(
    aten.sum, aten.mean, aten.amax, aten.amin, aten.max, aten.min, aten.prod,
    aten.logsumexp, aten.var, aten.std, aten.var_mean, aten.std_mean, aten.argmax,
    aten.argmin, aten.linalg_vector_norm, aten.norm, aten.nansum, aten.aminmax,
    aten.histc,  # a MoE router's tokens per expert: every input read once
    aten.bincount,
    *present("_weight_norm_interface"),
)  # fmt: skip
def reduction(a, out):
    """Input elements: each output reads in/out of them."""
    return prod(a.get("self", a.get("v")))


def _dim_size(shape, dim) -> int:
    return shape[dim] if shape else 1


# Ops whose count grows faster than the length of a 1-D input: on the whole batch's tokens
# flattened into one dim (a MoE's expert ids, packed sequences' lengths) the batch is inside
# the ranked or scanned dim, so the per-example count is the rule on the per-example length.
ACROSS = frozenset(
    {aten.cumsum, aten.cumprod, aten.logcumsumexp, aten.cummax, aten.cummin, aten.topk,
     aten.sort, aten.kthvalue, aten.median, aten.mode, aten.nanmedian}
)  # fmt: skip
# Ops that count a whole batch into bins whose number the batch does not change (histc).
BINNED = frozenset({aten.histc, aten.bincount})


@OP_RULES.register(aten.cumsum, aten.cumprod, aten.logcumsumexp, aten.cummax, aten.cummin)
def cumulative(a, out):
    """Output i along dim reads i + 1 inputs: others * n(n+1)/2."""
    x = a["self"]
    n = _dim_size(x, a["dim"])
    return prod(x) // max(n, 1) * n * (n + 1) // 2


@OP_RULES.register(aten.topk, aten.sort, aten.kthvalue, aten.median, aten.mode, aten.nanmedian)
def ranked(a, out):
    """Each output reads its whole slice along the ranked dim (the last unless given)."""
    return prod(out) * _dim_size(a["self"], a.get("dim", -1))


@OP_RULES.register(
    aten.scatter_add, aten.scatter_add_, aten.index_add, aten.index_add_,
    aten.scatter_reduce, aten.scatter_reduce_, aten.index_reduce, aten.index_reduce_,
)  # fmt: skip
def scatter_sum(a, out):
    """Each output reads itself, and every source element lands on one output: out + src."""
    return prod(out) + prod(a.get("src", a.get("source")))


@FIELD_RULES.register(aten.mean, aten.sum, aten.amax, aten.amin, role=Role.MERGE)
def reduction_field(a, out, dims):
    """A reduction over channels keeps the field; one over space is unknown."""
    rank = len(a["self"])
    reduced = a.get("dim")
    if not reduced:
        return None
    return identity(dims) if all(d % rank < rank - dims for d in reduced) else None
