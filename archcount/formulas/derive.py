"""Derive closed forms from the hooks alone: probe degrees, interpolate on a grid, confirm.

Each variable is probed along a line through the base point (its degree, or the residue
class on which it is a polynomial); the product grid of degree+1 nodes per variable fixes
every coefficient exactly; a few held-out points must then match to the unit.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import product

from archcount.errors import DerivationError
from archcount.formulas.derived import Derivation, Forms, Restriction, Variable
from archcount.formulas.interpolate import fit
from archcount.formulas.parallel import parallel_map
from archcount.formulas.probe import Progression, probe
from archcount.formulas.sample import Space, layer_infos, try_point, values_of
from archcount.formulas.syntax import QUANTITIES
from archcount.records import Convention, Options

HELD_OUT = 3


@dataclass
class _Sampler:
    """Counts points once each (cached) and remembers the layers it saw."""

    space: Space
    variables: tuple[Variable, ...]
    fixed: Mapping[str, int]
    variants: tuple[Options, ...]
    cache: dict[tuple[int, ...], dict | str] = field(default_factory=dict)
    infos: dict[int, tuple] = field(default_factory=dict)

    def at(self, point: tuple[int, ...]) -> dict | str:
        """(variant, layer, quantity) -> count at `point`, or why it cannot be counted."""
        if point not in self.cache:
            values = dict(self.fixed) | {v.name: x for v, x in zip(self.variables, point)}
            got = try_point(self.space.factory, *self.space.call(values), self.variants)
            if not isinstance(got, str):
                for i, report in enumerate(got):
                    self.infos.setdefault(i, layer_infos(report))
                got = values_of(got)
            self.cache[point] = got
        return self.cache[point]

    def count_all(self, points: Sequence[tuple[int, ...]]) -> None:
        """Count the points not yet cached, on every core this process may use."""
        todo = [p for p in dict.fromkeys(points) if p not in self.cache]
        self.cache.update(zip(todo, parallel_map(self.at, todo)))


def variants_of(options: Options) -> tuple[Options, ...]:
    """The requested options, then the other convention and no biases (to explain a difference)."""
    other = Convention.MODULES if options.convention is Convention.UNITS else Convention.UNITS
    return (
        options,
        Options(other, options.include_bias, options.include_norm),
        Options(options.convention, False, options.include_norm),
    )


def derive(
    space: Space,
    model: str,
    variables: Sequence[Variable],
    fixed: Mapping[str, int],
    options: Options,
) -> Derivation:
    """Closed forms of every total and layer of the space's model in `variables`.

    `fixed` holds a value for every other symbol the space's input or arguments need.
    """
    start = time.perf_counter()
    sampler = _Sampler(space, tuple(variables), dict(fixed), variants_of(options))
    base = tuple(v.base for v in variables)
    progressions, restrictions = _probe_all(sampler, base)
    nodes = [p.nodes() for p in progressions]
    sampler.count_all([*product(*nodes), *_held_out(progressions)])
    grid = {pt: _checked(sampler, pt) for pt in product(*nodes)}
    keys = sorted(set().union(*grid.values()))
    solved = fit(nodes, {pt: [vals.get(key, 0) for key in keys] for pt, vals in grid.items()})
    _confirm(sampler, solved, keys, progressions)
    polys = {key: solved.polynomial(i) for i, key in enumerate(keys)}
    return Derivation(
        model=model,
        options=options,
        variables=tuple(variables),
        fixed=dict(fixed),
        restrictions=restrictions,
        totals={q: polys.get((0, "", q), {}) for q in QUANTITIES},
        layers=tuple(_forms(sampler, polys, i) for i in range(len(sampler.variants))),
        nodes=tuple(nodes),
        spans=tuple(p.span() for p in progressions),
        samples=len(sampler.cache),
        seconds=time.perf_counter() - start,
        order=(*space.symbols.params, *space.symbols.sizes),
        outer=space.symbols.outer,
    )


def _probe_all(sampler: _Sampler, base: tuple[int, ...]):
    progressions, restrictions = [], []
    for i, var in enumerate(sampler.variables):
        prog, broken = probe(var.name, var.base, lambda x, i=i: sampler.at(_put(base, i, x)))
        if prog.step == 0:
            raise DerivationError(
                f"no polynomial in {var.name} on any step of {var.name} "
                f"(first: {_why(broken[0], sampler)})"
            )
        if broken:
            restrictions.append(
                Restriction(
                    var.name,
                    prog.step,
                    var.base % prog.step,
                    _why(broken[0], sampler),
                    _broken_totals(broken[0]),
                )
            )
        progressions.append(prog if prog.degree >= 0 else replace(prog, degree=0))
    return progressions, tuple(restrictions)


def _put(point: tuple[int, ...], i: int, x: int) -> tuple[int, ...]:
    return (*point[:i], x, *point[i + 1 :])


def _broken_totals(broken) -> tuple[str, ...]:
    """The totals asked for that are no polynomial on every value; all if unbuildable."""
    if broken.unbuildable:
        return QUANTITIES
    return tuple(q for q in QUANTITIES if (0, "", q) in broken.series)


def _why(broken, sampler: _Sampler) -> str:
    """'k=4: <error>' or 'outputs, connections not polynomial (first at layer1.1, MaxPool2d)'."""
    if broken.unbuildable:
        return broken.unbuildable
    totals = [q for q in QUANTITIES if (0, "", q) in broken.series]
    layers = [key[1] for key in broken.series if key[0] == 0 and key[1]]
    types = {info.label: info.type for info in sampler.infos.get(0, ())}
    first = min(layers, key=lambda lbl: list(types).index(lbl) if lbl in types else 0, default="")
    where = f" (first at {first}, {types.get(first, '?')})" if first else ""
    return f"{', '.join(totals) or 'some layers'} not a polynomial{where}"


def _checked(sampler: _Sampler, point: tuple[int, ...]) -> dict:
    got = sampler.at(point)
    if isinstance(got, str):
        names = ", ".join(f"{v.name}={x}" for v, x in zip(sampler.variables, point))
        raise DerivationError(f"cannot count the sample point {names}: {got}")
    return got


def _held_out(progressions: Sequence[Progression]) -> list[tuple[int, ...]]:
    """A few points off the grid but inside the probed ranges (seeded: reproducible)."""
    rng = random.Random(0)
    return [
        tuple(
            p.value(rng.randrange(p.degree + 1, max(p.probed, p.degree + 2))) for p in progressions
        )
        for _ in range(HELD_OUT)
    ]


def _confirm(sampler: _Sampler, solved, keys, progressions: Sequence[Progression]) -> None:
    """Held-out points off the grid must match every series exactly."""
    for point in _held_out(progressions):
        got = _checked(sampler, point)
        for key, value in zip(keys, solved.evaluate(point)):
            if value != got.get(key, 0):
                names = ", ".join(f"{v.name}={x}" for v, x in zip(sampler.variables, point))
                what = key[2] + (f" of {key[1]}" if key[1] else "")
                raise DerivationError(
                    f"no polynomial fits: the one fitted on the grid gives {what} = {value} "
                    f"at {names}, the hooks count {got.get(key, 0)}"
                )


def _forms(sampler: _Sampler, polys: Mapping[tuple, dict], variant: int) -> tuple[Forms, ...]:
    return tuple(
        Forms(info, {q: polys.get((variant, info.label, q), {}) for q in QUANTITIES})
        for info in sampler.infos.get(variant, ())
    )
