"""receptive_fields(model, input) -> ReceptiveFields: one traced forward, hooks on the modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from archcount.engine.record import hook_modules
from archcount.engine.rules import FIELD_RULES
from archcount.engine.rules.registry import Registry, as_shapes, identity
from archcount.engine.walk import Prepared, eval_mode, prepare
from archcount.errors import ForwardError, InputError
from archcount.receptive.summary import DimField, LayerField, ReceptiveFields
from archcount.receptive.trace import UNKNOWN, Tracer, tensors


def receptive_fields(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    *,
    example_input: Any = None,
    rules: Mapping | None = None,
    field_rules: Mapping | None = None,
) -> ReceptiveFields:
    """Each counted module call's receptive field on the input (N, C, *spatial), per dim.

    `rules` are counting rules (they choose which modules get a row); `field_rules` merge
    into a copy of the receptive-field registry (module types or aten ops).
    """
    prepared = prepare(model, input_size, example_input, rules=rules)
    return receptive_pass(prepared, field_rules)


def receptive_pass(prepared: Prepared, field_rules: Mapping | None = None) -> ReceptiveFields:
    """The fields of a prepared run (the rows of its count), positions of its first input."""
    registry = FIELD_RULES.merged(field_rules)
    inputs = tensors((prepared.args, prepared.kwargs))
    if not inputs or inputs[0].dim() < 3:
        shape = "x".join(map(str, inputs[0].shape)) if inputs else "none"
        raise InputError(
            f"receptive fields need an input (N, C, *spatial) with a spatial dim, got {shape}"
        )
    dims = inputs[0].dim() - 2
    tracer = Tracer(registry, dims)
    space = tuple(inputs[0].shape[2:])
    tracer.track([t for t in inputs if tuple(t.shape[-dims:]) == space], identity(dims))
    rows: list[LayerField] = []
    handles = _hooks(prepared, registry, tracer, rows)
    try:
        with eval_mode(prepared.model), torch.no_grad(), tracer:
            try:
                out = prepared.model(*prepared.args, **prepared.kwargs)
            except Exception as exc:
                msg = f"forward failed while following receptive fields: {exc}"
                raise ForwardError(msg) from exc
    finally:
        for h in handles:
            h.remove()
    return ReceptiveFields(tuple(rows), _summary(tracer, tensors(out)[:1]), tuple(tracer.warnings))


def _summary(tracer: Tracer, outs: list[torch.Tensor]) -> tuple[DimField, ...] | None:
    if not outs or not tracer.is_tracked(outs[0]) or tracer.field_of(outs[0]) is UNKNOWN:
        return None
    return tuple(DimField.of(f) for f in tracer.field_of(outs[0]))


def _hooks(prepared: Prepared, registry: Registry, tracer: Tracer, rows: list) -> list:
    """Pre/post hooks: counted modules record their output's field; ruled modules set it."""
    targets = {id(m): name for name, m in prepared.targets}
    calls: dict[int, int] = {}
    stack: list[tuple] = []

    def pre(module, args, kwargs):
        rule = registry.lookup(type(module))
        stack.append((rule, args, kwargs, tracer.covered > 0))
        if rule is not None:
            tracer.covered += 1

    def post(module, args, kwargs, out):
        rule, args, kwargs, inside = stack.pop()
        outs = tensors(out)
        if rule is not None:
            tracer.covered -= 1
            if not inside:
                _set_by_module(tracer, module, rule, (args, kwargs), outs)
        if id(module) in targets:
            n = calls.get(id(module), 0)
            calls[id(module)] = n + 1
            rows.append(_row(targets[id(module)], n, module, tracer, outs, inside))

    return hook_modules(
        (module, pre, post)
        for _, module in prepared.model.named_modules()
        if id(module) in targets or registry.lookup(type(module)) is not None
    )


def _set_by_module(tracer: Tracer, module: nn.Module, rule, inputs, outs) -> None:
    ins = tensors(inputs)
    what = type(module).__name__
    out_shapes = tuple(tuple(t.shape) for t in outs)
    shape = out_shapes[0] if out_shapes else ()

    def call(fn):
        return fn(module, as_shapes(tuple(ins)), out_shapes, tracer.dims)

    if any(tracer.is_tracked(t) for t in ins):
        tracer.track(outs, tracer.apply(what, rule, call, ins, shape))


def _row(name, call, module, tracer: Tracer, outs, inside: bool) -> LayerField:
    kind = type(module).__name__
    if inside:  # a child of a module whose own rule sets its output: not followed inside
        return LayerField(name, call, kind, None)
    if not outs or not tracer.is_tracked(outs[0]):
        return LayerField(name, call, kind, None, depends=False)
    fields = tracer.field_of(outs[0])
    dims = None if fields is UNKNOWN else tuple(DimField.of(f) for f in fields)
    return LayerField(name, call, kind, dims)
