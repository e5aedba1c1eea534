"""A count at one point as a derivation in no variables, so a wrong number is explained the way
`archcount check` explains a wrong formula: the fewest groups of layers (the other convention's
counts, biases, a layer type, one layer) whose counts add up to the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from archcount.formulas.derived import Derivation, Forms
from archcount.formulas.sample import layer_infos, values_of
from archcount.formulas.syntax import QUANTITIES
from archcount.records import Report


def point_derivation(model: str, reports: Sequence[Report]) -> Derivation:
    """`reports` are one point's counts under formulas.derive.variants_of(options)."""
    values = values_of(reports)
    layers = tuple(
        tuple(
            Forms(info, {q: _constant(values.get((v, info.label, q), 0)) for q in QUANTITIES})
            for info in layer_infos(report)
        )
        for v, report in enumerate(reports)
    )
    totals = {q: _constant(values[(0, "", q)]) for q in QUANTITIES}
    return Derivation(model, reports[0].options, (), {}, (), totals, layers, (), (), 1, 0.0)


def verdict_at(derivation: Derivation, quantity: str, expected: int | Fraction):
    """explain.Verdict of `expected` against the count: its stories, or 'not known'."""
    import sympy

    from archcount.formulas.explain import compare

    value = Fraction(expected)
    return compare(derivation, quantity, sympy.Rational(value.numerator, value.denominator))


def _constant(value: int) -> dict[tuple[int, ...], Fraction]:
    return {(): Fraction(value)} if value else {}
