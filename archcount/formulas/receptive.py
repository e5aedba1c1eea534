"""Closed forms of receptive fields: the field pass sampled over the variables, per residue class.

Away from borders a field does not depend on the input size; in the kernel k it is linear on
each residue class of k (the padding (k−1)/2 rounds, and where an upsampled map is read
depends on it). Each variable is probed as for the counts (formulas.probe); every residue
class of the step found is then fitted on its own (formulas.interpolate) and confirmed on
held-out points, so the forms cover every k, not one class. Offsets are not derived: where
output 0 starts moves with the rounding of several paddings at once (a period of 8 in k
for PoolUpsampleNet), and would split every size form into classes it does not need.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from math import prod
from typing import Any

from archcount.engine.build import build_model
from archcount.engine.walk import prepare
from archcount.errors import ArchcountError, DerivationError
from archcount.formulas.derived import Poly, Variable
from archcount.formulas.interpolate import fit
from archcount.formulas.probe import Progression, _on_step, probe
from archcount.formulas.sample import Space
from archcount.formulas.symbolic import display, from_coefficients, symbol
from archcount.formulas.syntax import mod_words
from archcount.receptive.summary import ReceptiveFields
from archcount.recording import record

SERIES = ("largest", "smallest", "jump")  # the offset is left out: see the module docstring
HELD_OUT = 3
Key = tuple[str, str, int]  # (layer label, '' for the model's output; series; spatial dim)


def field_values(fields: ReceptiveFields, per_layer: bool = False) -> dict[Key, Fraction]:
    """(label, series, dim) -> value for the output ('') and, if asked, every known layer."""
    out: dict[Key, Fraction] = {}
    rows = [("", fields.output)]
    if per_layer:
        rows += [(x.label, x.dims) for x in fields.layers]
    for label, dims in rows:
        for i, d in enumerate(dims or ()):
            values = {"largest": d.largest, "smallest": d.smallest, "jump": d.jump}
            out.update({(label, s, i): Fraction(v) for s, v in values.items()})
    return out


CPU_WORK = 10**7  # parameters x input positions under which a CPU pass beats meta's kernels


def fields_at(space: Space, values: Mapping[str, int]) -> ReceptiveFields:
    """The receptive fields of the space's model at symbol values (meta, or CPU when tiny)."""
    kwargs, size = space.call(values)
    model = build_model(space.factory, kwargs, "meta")
    positions = prod(size[2:]) * size[0]
    if sum(p.numel() for p in model.parameters()) * positions <= CPU_WORK:
        model = build_model(space.factory, kwargs, "cpu")
    with warnings.catch_warnings():  # torch's padding='same' notes repeat at every point
        warnings.simplefilter("ignore", UserWarning)
        return record(prepare(model, tuple(size))).receptive()


@dataclass
class _Sampler:
    """The field pass at points of the variables, once each."""

    space: Space
    variables: tuple[Variable, ...]
    fixed: Mapping[str, int]
    per_layer: bool = False
    cache: dict[tuple[int, ...], dict | str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # label -> type, in order

    def at(self, point: tuple[int, ...]) -> dict | str:
        if point not in self.cache:
            values = dict(self.fixed) | {v.name: x for v, x in zip(self.variables, point)}
            try:
                got = fields_at(self.space, values)
            except ArchcountError as exc:
                self.cache[point] = str(exc)
            else:
                for row in got.layers:
                    self.labels.setdefault(row.label, row.type)
                self.cache[point] = field_values(got, self.per_layer)
        return self.cache[point]

    def along(self, i: int, base: tuple[int, ...]):
        return lambda x: self.at((*base[:i], x, *base[i + 1 :]))


@dataclass(frozen=True)
class Residue:
    """One class of the variables: name ≡ residue (mod modulus) for each split variable."""

    conditions: tuple[tuple[str, int, int], ...]

    def text(self) -> str:
        """'k odd', 'k ≡ 1 (mod 4)', or 'every value'."""
        return ", ".join(mod_words(*c) for c in self.conditions) or "every value"

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready conditions."""
        return [{"variable": n, "modulus": m, "residue": r} for n, m, r in self.conditions]


@dataclass(frozen=True)
class FieldClass:
    """The closed forms on one residue class, and the range they were confirmed on."""

    residue: Residue
    spans: tuple[tuple[int, int], ...]
    polys: dict[Key, Poly]


@dataclass(frozen=True)
class FieldDerivation:
    """Receptive-field closed forms per residue class; classes that cannot be built apart."""

    model: str
    variables: tuple[Variable, ...]
    fixed: dict[str, int]
    classes: tuple[FieldClass, ...]
    unbuildable: tuple[tuple[Residue, str], ...]
    labels: dict[str, str]  # layer label -> type
    dims: int
    samples: int
    seconds: float
    order: tuple[str, ...] = ()
    outer: tuple[str, ...] = ()

    def expr(self, poly: Poly):
        """A polynomial as a sympy expression in the variables."""
        return from_coefficients(poly, tuple(symbol(v.name) for v in self.variables))

    def show(self, poly: Poly) -> str:
        """A polynomial as on paper."""
        return display(self.expr(poly), self.order, self.outer)

    def form(self, cls: FieldClass, label: str, series: str, dim: int) -> str | None:
        """The displayed closed form, or None when the field is unknown there."""
        poly = cls.polys.get((label, series, dim))
        return None if poly is None else self.show(poly)

    def to_dict(self, per_layer: bool = False) -> dict[str, Any]:
        """The CLI's --json object (sympy strings and the displayed forms)."""

        def forms(cls: FieldClass, label: str) -> list[dict[str, Any]] | None:
            if (label, "largest", 0) not in cls.polys:
                return None
            return [
                {s: str(self.expr(cls.polys.get((label, s, i), {}))) for s in SERIES}
                | {"display": {s: self.form(cls, label, s, i) for s in SERIES}}
                for i in range(self.dims)
            ]

        return {
            "model": self.model,
            "quantity": "receptive_field",
            "variables": [v.name for v in self.variables],
            "fixed": dict(self.fixed),
            "classes": [
                {
                    "holds_for": c.residue.text(),
                    "conditions": c.residue.to_dict(),
                    "confirmed_on": {v.name: list(s) for v, s in zip(self.variables, c.spans)},
                    "output": forms(c, ""),
                    **(
                        {"layers": [{"name": n, "receptive_field": forms(c, n)}
                                    for n in self.labels]}
                        if per_layer else {}
                    ),
                }
                for c in self.classes
            ],
            "unbuildable": [{"holds_for": r.text(), "why": why} for r, why in self.unbuildable],
            "samples": self.samples,
            "seconds": round(self.seconds, 3),
        }  # fmt: skip


def derive_fields(
    space: Space,
    model: str,
    variables: Sequence[Variable],
    fixed: Mapping[str, int],
    per_layer: bool = False,
) -> FieldDerivation:
    """Closed forms of the output's (and each layer's) field in `variables`, per residue class.

    The classes are those the output needs; with `per_layer`, those every layer needs.
    """
    start = time.perf_counter()
    sampler = _Sampler(space, tuple(variables), dict(fixed), per_layer)
    base = tuple(v.base for v in variables)
    splits = [_split(sampler, i, base) for i in range(len(variables))]
    classes, unbuildable = [], [why for sp in splits for why in sp.unbuildable]
    for offsets in product(*(sp.offsets for sp in splits)):
        got = _fit_class(sampler, base, [sp.modulus for sp in splits], offsets)
        (classes if isinstance(got, FieldClass) else unbuildable).append(got)
    if not classes:
        raise DerivationError(f"no class of the variables can be built: {unbuildable[0][1]}")
    first = sampler.at(base)
    dims = 1 + max((k[2] for k in first), default=0) if isinstance(first, dict) else 0
    return FieldDerivation(
        model=model,
        variables=tuple(variables),
        fixed=dict(fixed),
        classes=tuple(classes),
        unbuildable=tuple(unbuildable),
        labels=dict(sampler.labels),
        dims=dims,
        samples=len(sampler.cache),
        seconds=time.perf_counter() - start,
        order=(*space.symbols.params, *space.symbols.sizes),
        outer=space.symbols.outer,
    )


@dataclass(frozen=True)
class _Split:
    """A variable's modulus, the offsets from its base that can be built, and the others."""

    modulus: int
    offsets: tuple[int, ...]
    unbuildable: tuple[tuple[Residue, str], ...]


def _split(sampler: _Sampler, i: int, base: tuple[int, ...]) -> _Split:
    """The step on which variable i is a polynomial from the base of every buildable class."""
    var, at = sampler.variables[i], sampler.along(i, base)
    prog, broken = probe(var.name, var.base, at)
    if prog.step == 0:
        why = broken[0].unbuildable or "no polynomial on any step"
        raise DerivationError(f"the receptive field is no polynomial in {var.name}: {why}")
    modulus = prog.step
    while True:  # another class may need a finer split: double the modulus until all fit
        offsets, unbuildable, finer = [0], [], False
        for j in range(1, modulus):
            got = _on_step(var.name, var.base + j, modulus, at)
            if isinstance(got, Progression):
                offsets.append(j)
            elif got.unbuildable:
                residue = Residue(((var.name, modulus, (var.base + j) % modulus),))
                unbuildable.append((residue, got.unbuildable))
            else:
                finer = True
        if not finer or modulus >= 16:
            return _Split(modulus, tuple(offsets), tuple(unbuildable))
        modulus *= 2


def _fit_class(sampler: _Sampler, base, moduli, offsets) -> FieldClass | tuple[Residue, str]:
    """The forms on the class base + offsets (mod moduli), or why it cannot be built."""
    residue = Residue(
        tuple(
            (v.name, m, (v.base + o) % m)
            for v, m, o in zip(sampler.variables, moduli, offsets)
            if m > 1
        )
    )
    point = tuple(b + o for b, o in zip(base, offsets))
    progressions = []
    for i, (v, m) in enumerate(zip(sampler.variables, moduli)):
        got = _on_step(v.name, point[i], m, sampler.along(i, point))
        if not isinstance(got, Progression):
            why = got.unbuildable or f"no polynomial in {v.name} on this class"
            if got.unbuildable:
                return residue, why
            raise DerivationError(f"{residue.text()}: {why}")
        progressions.append(got)
    nodes = [p.nodes() for p in progressions]
    grid = {pt: sampler.at(pt) for pt in product(*nodes)}
    if any(isinstance(g, str) for g in grid.values()):
        return residue, next(g for g in grid.values() if isinstance(g, str))
    keys = sorted(set().union(*grid.values()))
    solved = fit(nodes, {pt: [vals.get(k, 0) for k in keys] for pt, vals in grid.items()})
    _confirm(sampler, solved, keys, progressions)
    polys = {k: solved.polynomial(i) for i, k in enumerate(keys)}
    return FieldClass(residue, tuple(p.span() for p in progressions), polys)


def _confirm(sampler: _Sampler, solved, keys, progressions: Sequence[Progression]) -> None:
    """Held-out points of the class (seeded) must match every series exactly."""
    rng = random.Random(0)
    for _ in range(HELD_OUT):
        point = tuple(
            p.value(rng.randrange(p.degree + 1, max(p.probed, p.degree + 2))) for p in progressions
        )
        got = sampler.at(point)
        if isinstance(got, str):
            continue
        for key, value in zip(keys, solved.evaluate(point)):
            if value != got.get(key, 0):
                names = ", ".join(f"{v.name}={x}" for v, x in zip(sampler.variables, point))
                raise DerivationError(
                    f"no polynomial fits the {key[1]} of {key[0] or 'the output'} at {names}: "
                    f"fitted {value}, the field pass gives {got.get(key, 0)}"
                )
