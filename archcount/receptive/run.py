"""receptive_fields(model, input) -> ReceptiveFields: one traced forward, hooks on the modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archcount.engine.rules import FIELD_RULES
from archcount.engine.rules.registry import FieldRule, Registry, as_shapes, identity
from archcount.engine.stack import Frame, ModuleStack, mode, shapes_of
from archcount.engine.walk import Prepared, prepare
from archcount.errors import InputError
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
    stack = _stack(prepared, registry, tracer, rows)
    with stack, mode(prepared.model, False), torch.no_grad(), tracer:
        try:
            out = prepared.model(*prepared.args, **prepared.kwargs)
        except Exception as exc:
            shapes = tuple(tuple(t.shape) for t in inputs)
            raise stack.forward_error(exc, shapes, "the receptive-field forward") from exc
    return ReceptiveFields(tuple(rows), _summary(tracer, tensors(out)[:1]), tuple(tracer.warnings))


def _summary(tracer: Tracer, outs: list[torch.Tensor]) -> tuple[DimField, ...] | None:
    if not outs or not tracer.is_tracked(outs[0]) or tracer.field_of(outs[0]) is UNKNOWN:
        return None
    return tuple(DimField.of(f) for f in tracer.field_of(outs[0]))


@dataclass
class FieldFrame(Frame):
    """One running module call, with its receptive-field rule and inputs."""

    rule: FieldRule | None = None
    given: tuple = ((), {})
    inside: bool = False  # inside a module whose own rule sets its output


def _stack(prepared: Prepared, registry: Registry, tracer: Tracer, rows: list) -> ModuleStack:
    """The module stack: rows record their output's field; ruled modules set it."""

    def frame(name, module, role, call, args, kwargs) -> FieldFrame:
        rule = registry.lookup(type(module))
        out = FieldFrame(name, module, role, call, (), rule, (args, kwargs), tracer.covered > 0)
        if out.has_row:
            out.inputs = shapes_of((args, kwargs))
        if rule is not None:
            tracer.covered += 1
        return out

    def leave(f: FieldFrame, out) -> None:
        outs = tensors(out)
        if f.rule is not None:
            tracer.covered -= 1
            if not f.inside:
                _set_by_module(tracer, f.module, f.rule, f.given, outs)
        if f.has_row:
            rows.append(_row(f.name, f.call, f.module, tracer, outs, f.inside))

    root = type(prepared.model).__name__
    return ModuleStack(prepared.model, prepared.registry, root, frame, leave=leave)


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
