"""Each total over one variable: the derived closed form, and the hooks' counts at every value.

What `archcount derive … --plot` draws. The other variables are held where the derivation
probed from; the counts are new hooked forwards, one per value, not the derivation's samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from archcount.errors import DerivationError
from archcount.formulas.derived import Derivation
from archcount.formulas.sample import try_point
from archcount.formulas.syntax import QUANTITIES
from archcount.front.space import Sampled

MAX_VALUES = 40  # one hooked forward per value


@dataclass(frozen=True)
class Series:
    """Every total over `variable` at `xs`: the closed form and the hooks' counts."""

    model: str
    variable: str
    held: dict[str, int]  # every other symbol's value
    xs: tuple[int, ...]
    counted: dict[str, tuple[int | None, ...]]  # quantity -> count at each x (None: no build)
    forms: dict[str, dict[int, Fraction]]  # quantity -> {power of the variable: coefficient}
    shown: dict[str, str]  # quantity -> the closed form as written on paper
    holds: dict[str, tuple[bool, ...]]  # quantity -> whether the form claims to hold at each x
    condition: dict[str, str]  # quantity -> where it holds ('k odd'), '' for everywhere

    def value(self, quantity: str, x: float) -> float:
        """The closed form of `quantity` at `x` (any real x, for drawing the curve)."""
        return float(sum(c * x**e for e, c in self.forms[quantity].items()))


def series(
    model: Sampled, derivation: Derivation, variable: str, span: tuple[int, int] | None = None
) -> Series:
    """The totals over `variable` (a derived variable) on `span`, default its probed range."""
    names = [v.name for v in derivation.variables]
    if variable not in names:
        raise DerivationError(
            f"--plot-over {variable}: not a variable of this derivation ({', '.join(names)})"
        )
    one = derivation
    for v in derivation.variables:
        if v.name != variable:
            one = one.at(v.name, v.base)
    lo, hi = span or derivation.spans[names.index(variable)]
    if not 1 <= lo <= hi or hi - lo >= MAX_VALUES:
        raise DerivationError(
            f"--plot-over {variable}={lo}..{hi}: give 1 ≤ A ≤ B, at most {MAX_VALUES} values"
        )
    xs = tuple(range(lo, hi + 1))
    counts = [_totals(model, derivation, one.fixed | {variable: x}) for x in xs]
    restrictions = [r for r in derivation.restrictions if r.name == variable]
    return Series(
        model=derivation.model,
        variable=variable,
        held={k: v for k, v in one.fixed.items() if k != variable},
        xs=xs,
        counted={q: tuple(None if c is None else c[q] for c in counts) for q in QUANTITIES},
        forms={q: {e[0]: c for e, c in one.totals[q].items()} for q in QUANTITIES},
        shown={q: one.show(one.total(q)) for q in QUANTITIES},
        holds={
            q: tuple(
                all(x % r.modulus == r.residue for r in restrictions if q in r.totals) for x in xs
            )
            for q in QUANTITIES
        },
        condition={
            q: " and ".join(r.text() for r in restrictions if q in r.totals) for q in QUANTITIES
        },
    )


def _totals(model: Sampled, derivation: Derivation, values: dict[str, int]) -> dict | None:
    """The hooks' totals at symbol values, None when the model cannot be built there."""
    got = try_point(model.space.factory, *model.space.call(values), (derivation.options,))
    if isinstance(got, str):
        return None
    return {q: getattr(got[0].totals, q) for q in QUANTITIES}


def parse_over(text: str) -> tuple[str, tuple[int, int] | None]:
    """'k' -> ('k', None); 'k=2..9' -> ('k', (2, 9))."""
    name, sep, span = text.partition("=")
    lo, dots, hi = span.partition("..")
    if not name.strip().isidentifier() or (
        sep and not (dots and lo.strip().isdigit() and hi.strip().isdigit())
    ):
        raise DerivationError(f"--plot-over wants NAME or NAME=A..B, e.g. k=3..9, got {text!r}")
    return name.strip(), ((int(lo), int(hi)) if sep else None)
