"""record(prepared) -> Recording: one prepared run, recorded once, seen through its views.

`.report(options)` and `.functional(convention)` read the one recorded forward (hooks,
attention calls and aten ops together), which runs on first use and is kept: a report per
option set costs no second forward. `.training(options)` and `.receptive()` run their own
pass over the same prepared run, on the same module stack (the same rows). `count()` is the
one-call form: record(prepare(...)).report(options).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import torch
from torch import nn

from archcount.engine.functional import FunctionalOps, build_functional
from archcount.engine.record import ModuleCall, Tape, record_tape
from archcount.engine.walk import Prepared, build_report, prepare
from archcount.receptive.run import receptive_pass
from archcount.receptive.summary import ReceptiveFields
from archcount.records import Convention, Options, Report
from archcount.training.cost import TrainingCost, training_cost
from archcount.training.options import TrainingOptions


class Recording:
    """One prepared run and its views; the count's forward is recorded once, on first use."""

    def __init__(self, prepared: Prepared, name: str | None = None) -> None:
        self.prepared, self.name = prepared, name

    @cached_property
    def tape(self) -> Tape:
        """The recorded forward: module calls, functional ops, warnings, in finishing order."""
        p = self.prepared
        return record_tape(
            p.model,
            p.args,
            p.kwargs,
            registry=p.registry,
            op_registry=p.op_registry,
            batch=p.batch,
            root=self.name or type(p.model).__name__,
        )

    @property
    def calls(self) -> tuple[ModuleCall, ...]:
        """Every module call with a row: its whole-batch input and output shapes, in order."""
        return tuple(x for x in self.tape.items if isinstance(x, ModuleCall))

    def report(
        self, options: Options | None = None, *, params: Mapping[str, Any] | None = None
    ) -> Report:
        """Weights, outputs and connections per layer and in total, under `options`."""
        return build_report(
            self.prepared, self.tape, options or Options(), name=self.name, params=params
        )

    def functional(self, convention: Convention | str = Convention.UNITS) -> FunctionalOps:
        """The ops run by containers' own code (outside every module with a row), per example."""
        return build_functional(self.tape, convention)

    def training(
        self, options: TrainingOptions | None = None, *, backward_rules: Mapping | None = None
    ) -> TrainingCost:
        """One training step of the prepared run's inputs (its own pass, train mode)."""
        p = self.prepared
        return training_cost(
            p.model, p.args, options, rules=p.registry, backward_rules=backward_rules,
            name=self.name, kwargs=p.kwargs,
        )  # fmt: skip

    def receptive(self, field_rules: Mapping | None = None) -> ReceptiveFields:
        """Each row call's receptive field on the first input (its own pass, eval mode)."""
        return receptive_pass(self.prepared, field_rules)


def record(prepared: Prepared, name: str | None = None) -> Recording:
    """The Recording of a prepared run; `name` names the model (its type's name when None)."""
    return Recording(prepared, name)


def count(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    *,
    example_input: Any = None,
    example_kwargs: Mapping[str, Any] | None = None,
    input_dtype: torch.dtype = torch.float32,
    convention: Convention | str = Convention.UNITS,
    include_bias: bool = True,
    include_norm: bool = True,
    functional: bool = True,
    rules: Mapping | None = None,
    op_rules: Mapping | None = None,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Report:
    """Count weights, outputs and connections per example of `model` on one input.

    `input_size` includes the batch dimension, e.g. (1, 3, 32, 32); the tensor is made on
    the device of the model's parameters (meta for a model built under torch.device("meta")).
    Or `example_input`: a tensor, a tuple of args or a dict of keyword args (plus
    `example_kwargs`); the batch is the first size of the first tensor among them.
    `functional=False` leaves out the ops a container's own forward code runs.
    """
    options = Options(Convention(convention), include_bias, include_norm, functional)
    prepared = prepare(
        model, input_size, example_input, input_dtype, rules, example_kwargs, op_rules
    )
    return record(prepared, name).report(options, params=params)
