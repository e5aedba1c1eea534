"""Closed forms of a training step's totals in the batch B and the model's symbols.

The same method as derive: each variable probed along a line (its degree, or the residue class
on which it is a polynomial), the product grid fixes the coefficients exactly, held-out points
must match to the byte. A sample is one training pass (archcount.training) at a point, built
on meta, with the batch B of the point (1 when B is no variable).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product
from typing import Any

import torch

from archcount.engine.build import build_model
from archcount.errors import ArchcountError, DerivationError
from archcount.formulas.derive import HELD_OUT, _held_out
from archcount.formulas.derived import Derivation, Restriction, Variable
from archcount.formulas.interpolate import fit
from archcount.formulas.probe import probe
from archcount.formulas.sample import Space
from archcount.records import Options
from archcount.training.cost import FIELDS, training_cost
from archcount.training.options import TrainingOptions

BATCH = "B"  # the batch's symbol in the formulas
# every per-layer field of a training cost, then the totals that only the whole step has
TRAINING_QUANTITIES = (*FIELDS, "activation_bytes", "peak_bytes")


@dataclass(frozen=True)
class TrainingDerivation:
    """Closed forms of the training totals (a Derivation whose totals are those quantities)."""

    derivation: Derivation
    options: TrainingOptions

    def form(self, quantity: str) -> str:
        """The closed form as on paper."""
        d = self.derivation
        return d.show(d.total(quantity))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: sympy strings and displays of every training total."""
        d, o = self.derivation, self.options
        return {
            "model": d.model,
            "training": {q: str(d.total(q)) for q in TRAINING_QUANTITIES},
            "display": {q: self.form(q) for q in TRAINING_QUANTITIES},
            "optimizer": o.optimizer.value,
            "dtype": o.precision.value,
            "freeze": list(o.freeze),
            **d.probed_dict(),
        }


def training_point(space: Space, values: Mapping[str, int], options: TrainingOptions):
    """{(0, '', quantity): value} of one training pass at `values` (B the batch), or why not."""
    kwargs, size = space.call(values)
    batch = values.get(BATCH, 1)
    try:
        model = build_model(space.factory, kwargs, "meta")
        x = torch.zeros((batch, *size[1:]), device="meta")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            cost = training_cost(model, (x,), replace(options, batch=batch))
    except ArchcountError as exc:
        return str(exc)
    totals = cost.totals()
    return {(0, "", q): totals[q] for q in TRAINING_QUANTITIES}


def derive_training(
    space: Space,
    model: str,
    variables: Sequence[Variable],
    fixed: Mapping[str, int],
    options: TrainingOptions,
) -> TrainingDerivation:
    """Closed forms of every training total in `variables` (B among them, or not)."""
    start = time.perf_counter()
    cache: dict[tuple[int, ...], dict | str] = {}

    def at(point: tuple[int, ...]):
        if point not in cache:
            values = dict(fixed) | {v.name: x for v, x in zip(variables, point)}
            cache[point] = training_point(space, values, options)
        return cache[point]

    base = tuple(v.base for v in variables)
    progressions, restrictions = [], []
    for i, var in enumerate(variables):
        put = lambda x, i=i: at((*base[:i], x, *base[i + 1 :]))  # noqa: E731
        prog, broken = probe(var.name, var.base, put)
        if prog.step == 0:
            why = at(base)  # a fault at the base point (a --freeze matching nothing) is said as is
            no_fit = f"the training totals are no polynomial in {var.name}"
            raise DerivationError(why if isinstance(why, str) else no_fit)
        if broken:
            why = broken[0].unbuildable or "not a polynomial on every value"
            restrictions.append(
                Restriction(var.name, prog.step, var.base % prog.step, why, TRAINING_QUANTITIES)
            )
        progressions.append(prog if prog.degree >= 0 else replace(prog, degree=0))
    nodes = [p.nodes() for p in progressions]
    grid = {pt: _counted(at(pt), pt, variables) for pt in product(*nodes)}
    keys = [(0, "", q) for q in TRAINING_QUANTITIES]
    solved = fit(nodes, {pt: [vals[k] for k in keys] for pt, vals in grid.items()})
    for pt in _held_out(progressions)[:HELD_OUT]:
        got = _counted(at(pt), pt, variables)
        for key, value in zip(keys, solved.evaluate(pt)):
            if value != got[key]:
                raise DerivationError(
                    f"no polynomial fits {key[2]}: {value} fitted, {got[key]} counted at {pt}"
                )
    totals = {k[2]: solved.polynomial(i) for i, k in enumerate(keys)}
    symbols = space.symbols
    derivation = Derivation(
        model=model,
        options=Options(),
        variables=tuple(variables),
        fixed=dict(fixed),
        restrictions=tuple(restrictions),
        totals=totals,
        layers=((), (), ()),
        nodes=tuple(nodes),
        spans=tuple(p.span() for p in progressions),
        samples=len(cache),
        seconds=time.perf_counter() - start,
        order=(BATCH, *symbols.params, *symbols.sizes),
        outer=symbols.outer,
    )
    return TrainingDerivation(derivation, options)


def _counted(got, point, variables) -> dict:
    if isinstance(got, str):
        names = ", ".join(f"{v.name}={x}" for v, x in zip(variables, point))
        raise DerivationError(f"cannot price the sample point {names}: {got}")
    return got
