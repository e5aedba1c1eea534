"""What one aten op call adds, whole batch: its forward rule applied, or the pointwise fallback.

Views, copies, casts, factories, indexing and boolean masks are storage, not arithmetic: they
are not recorded. An op with no rule that PyTorch tags pointwise reads one unit per operand
per output (2 for x + y; 1 for relu(x) or x * 0.5, an element-wise op that, like an
activation, adds nothing under the `units` convention). Any other op is recorded with
unknown connections, never as zero. The rules themselves live in engine.rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch

from archcount.engine.rules import OP_RULES
from archcount.engine.rules.reduction import ACROSS
from archcount.engine.rules.registry import OpRule, Registry, Shape, Taps, failure, named_args
from archcount.engine.tags import is_batched, root, set_root
from archcount.errors import RuleError
from archcount.records import Kind


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


def op_taps(
    func, args, kwargs, outs, ins, registry: Registry | None = None, rule=None, pointwise=None
):
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
    return _applied(func, rule, named_args(func, args, kwargs or {}), y)


def across_batch(func, args, kwargs, ins, outs, batch: int, rule) -> OpTaps | None:
    """Per example, for a ranking or scan of a 1-D batched input (the batch's tokens flattened):
    the rule on the per-example length, not the whole count divided (it grows as n²)."""
    if batch == 1 or func.overloadpacket not in ACROSS or rule is None or rule.fn is None:
        return None
    x = ins[0]
    y = outs[0]
    if not is_batched(x) or x.dim() != 1 or y.dim() != 1 or x.shape[0] % batch or len(y) % batch:
        return None
    one = torch.empty(x.shape[0] // batch, dtype=x.dtype, device="meta")
    named = named_args(func, tuple(one if a is x else a for a in args), kwargs or {})
    return _applied(func, rule, named, (len(y) // batch,))


def _applied(func, rule: OpRule, named: dict, y: Shape) -> OpTaps:
    """rule.fn on named shapes; a rule that raises gives unknown connections and the error."""
    try:
        n = rule.fn(named, y)
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
