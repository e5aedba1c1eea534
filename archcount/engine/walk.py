"""One prepared run (the model, its example inputs, rules and batch), and the Report of its
recorded forward (archcount.recording puts them together: record(prepared).report())."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from archcount.engine.record import OPS, ModuleCall, Tape
from archcount.engine.rows import (
    claim_params,
    functional_row,
    held_row,
    idle_and_held,
    layer_row,
    ops_row,
)
from archcount.engine.rules import OP_RULES, RULES
from archcount.engine.rules.registry import Registry
from archcount.engine.stack import row_modules, shapes_of
from archcount.errors import InputError
from archcount.records import Kind, Options, Report, Source


@dataclass(frozen=True)
class Prepared:
    """One run made ready: the model, its example args, the modules to hook, rules, batch."""

    model: nn.Module
    args: tuple
    targets: tuple[tuple[str, nn.Module], ...]
    registry: Registry
    batch: int
    kwargs: dict[str, Any] = field(default_factory=dict)  # the forward is model(*args, **kwargs)
    op_registry: Registry = OP_RULES

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of the first input tensor (args first, then kwargs), () when there is none."""
        shapes = shapes_of((self.args, self.kwargs))
        return tuple(shapes[0]) if shapes else ()


def prepare(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    example_input: Any = None,
    input_dtype: torch.dtype = torch.float32,
    rules: Mapping | None = None,
    example_kwargs: Mapping[str, Any] | None = None,
    op_rules: Mapping | None = None,
) -> Prepared:
    """The example inputs, counted modules and batch of one run.

    Give input_size (a zero tensor of that shape) or example_input: a tensor, a tuple/list of
    positional args, or a dict of keyword args; example_kwargs adds keyword args to either.
    """
    registry = RULES.merged(rules)
    args, kwargs = example_inputs(model, input_size, example_input, input_dtype, example_kwargs)
    targets = tuple(row_modules(model, registry, type(model).__name__))
    ops = OP_RULES.merged(op_rules) if op_rules else OP_RULES
    return Prepared(model, args, targets, registry, batch_of(args, kwargs), kwargs, ops)


def build_report(
    prepared: Prepared,
    rec: Tape,
    options: Options,
    *,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Report:
    """The Report of one recorded forward under `options`: rows in the order calls finished."""
    seen: set[int] = set()
    warnings: list[str] = list(rec.warnings)
    layers = []
    claimed_owners: set[str] = set()
    for item in rec.items:
        if isinstance(item, ModuleCall):
            if item.role == OPS:
                row = ops_row(item, options, seen, warnings)
            else:
                row = layer_row(item, prepared.registry, options, prepared.batch, seen, warnings)
            if row is not None:
                layers.append(row)
            continue
        owner, key = item
        tally = rec.functional[owner].get(key)
        first = owner not in claimed_owners
        claimed_owners.add(owner)
        weights = claim_params(rec.consumed.get(owner, {}).values(), seen) if first else (0, 0)
        shown = options.functional or key[1] is Kind.CACHE
        if shown and key[1] is not Kind.VIEW and tally is not None and tally.calls:
            layers.append(functional_row(owner, key, tally, options, warnings, weights))
            continue
        if sum(weights):  # ops left out (--no-functional): the parameters they read still count
            layers.append(held_row(owner, weights, Source.FUNCTIONAL))
    layers += idle_and_held(prepared.model, rec, seen, warnings)
    return Report(
        model=name or type(prepared.model).__name__,
        params=dict(params or {}),
        input_shape=prepared.input_shape,
        options=options,
        layers=tuple(layers),
        warnings=tuple(warnings),
    )


def example_inputs(
    model: nn.Module, input_size, example_input, dtype, example_kwargs=None
) -> tuple[tuple, dict[str, Any]]:
    """(args, kwargs) of the forward: a zero tensor of input_size, or example_input split."""
    if (input_size is None) == (example_input is None) and not (
        input_size is None and example_kwargs
    ):
        raise InputError("give exactly one of input_size and example_input")
    kwargs = dict(example_kwargs or {})
    if isinstance(example_input, Mapping):
        return (), {**dict(example_input), **kwargs}
    if type(example_input) in (tuple, list):  # a PackedSequence (a namedtuple) is one arg
        return tuple(example_input), kwargs
    if example_input is not None:
        return (example_input,), kwargs
    if input_size is None:  # keyword inputs only
        return (), kwargs
    size = tuple(input_size)
    if not size or any(not isinstance(n, int) or n <= 0 for n in size):
        raise InputError(f"input size must be positive integers, got {size}")
    # zeros, not empty: valid indices for embeddings, no NaNs for real devices
    return (torch.zeros(size, dtype=dtype, device=device_of(model)),), kwargs


def device_of(model: nn.Module) -> torch.device:
    """Where the model's tensors live; meta for a model that holds none."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("meta")


def batch_of(args: tuple, kwargs: Mapping[str, Any] | None = None) -> int:
    """The batch: the first size of the first input tensor (args, then kwargs), 1 without dims."""
    shapes = shapes_of((args, dict(kwargs or {})))
    return shapes[0][0] if shapes and shapes[0] else 1
