"""The training cost of a built request: one training pass on meta, and --fit's solve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import torch

from archcount.engine.build import build_model
from archcount.formulas.derived import Variable
from archcount.formulas.training import BATCH, TrainingDerivation, derive_training
from archcount.front.request import Built
from archcount.front.space import Sampled, plan
from archcount.training.cost import TrainingCost, training_cost
from archcount.training.fit import Fit, fit_batch
from archcount.training.options import TrainingOptions


def _at(t: torch.Tensor, batch: int) -> torch.Tensor:
    """A meta tensor like `t` at another batch (unbatched scalars kept)."""
    shape = (batch, *t.shape[1:]) if t.dim() else ()
    return torch.zeros(shape, dtype=t.dtype, device="meta")


def meta_args(built: Built, batch: int) -> tuple[torch.Tensor, ...]:
    """The build's positional example inputs at another batch, on meta."""
    return tuple(_at(a, batch) for a in built.args)


def meta_inputs(built: Built, batch: int) -> dict[str, torch.Tensor]:
    """The build's keyword inputs (--input NAME=SHAPE, hf: defaults) at another batch, on meta."""
    return {k: _at(v, batch) for k, v in built.inputs.items()}


def on_meta(built: Built) -> torch.nn.Module:
    """The built model on meta (the same object when it already is)."""
    return built.model if built.on_meta else build_model(built.factory, built.kwargs, "meta")


def training_of(built: Built, options: TrainingOptions, name: str) -> TrainingCost:
    """One training step of the build at options.batch, on meta (no memory, no arithmetic)."""
    model = on_meta(built)
    args, inputs = meta_args(built, options.batch), meta_inputs(built, options.batch)
    return training_cost(model, args, options, name=name, kwargs=inputs)


def fit_of(built: Built, options: TrainingOptions, limit: int, name: str) -> Fit:
    """The largest batch whose estimated peak fits `limit` bytes."""
    model = on_meta(built)

    def cost_at(batch: int) -> TrainingCost:
        opts = replace(options, batch=batch)
        args, inputs = meta_args(built, batch), meta_inputs(built, batch)
        return training_cost(model, args, opts, name=name, kwargs=inputs)

    return fit_batch(cost_at, limit)


def derive_training_target(
    model: Sampled, names: Sequence[str] | None, fix: Mapping[str, int], options: TrainingOptions
) -> TrainingDerivation:
    """`derive --training`: the training totals' closed forms; B (the batch) is a variable
    unless --vars leaves it out or --fix holds it (then it is held there, default 1)."""
    fix = dict(fix)
    batch = fix.pop(BATCH, None)
    rest = None if names is None else [n for n in names if n != BATCH]
    p = plan(model, rest, fix)
    fixed = dict(p.fixed)
    variables = p.variables
    if batch is not None or (names is not None and BATCH not in names):
        fixed[BATCH] = batch or 1
    else:
        variables = (Variable(BATCH, 1), *variables)
    return derive_training(model.space, model.name, variables, fixed, options)
