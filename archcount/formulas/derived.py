"""Frozen records of a derivation: variables, restrictions, and the closed forms found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from archcount.formulas.sample import LayerInfo
from archcount.formulas.symbolic import condition_text, display, from_coefficients, modulo, symbol
from archcount.formulas.syntax import QUANTITIES
from archcount.records import Convention, Options

Poly = dict[tuple[int, ...], Fraction]  # exponent tuple (one per variable) -> coefficient


@dataclass(frozen=True)
class Variable:
    """A symbol derived over (a constructor argument or an input size), and where probing starts."""

    name: str
    base: int


@dataclass(frozen=True)
class Restriction:
    """The formulas hold only for name ≡ residue (mod modulus); `why` says what broke otherwise."""

    name: str
    modulus: int
    residue: int
    why: str
    totals: tuple[str, ...] = QUANTITIES  # the totals it matters for: the others hold for all

    def applies_to(self, quantities) -> bool:
        """True when any of `quantities` needs this restriction."""
        return any(q in self.totals for q in quantities)

    def text(self) -> str:
        """'k odd', 'S a multiple of 4', or 'S ≡ 1 (mod 3)'."""
        return condition_text(self.condition())

    def condition(self):
        """The restriction as a sympy relation."""
        return modulo(self.name, self.modulus, self.residue)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "variable": self.name,
            "modulus": self.modulus,
            "residue": self.residue,
            "holds_for": self.text(),
            "totals": list(self.totals),
            "why": self.why,
        }


@dataclass(frozen=True)
class Forms:
    """One layer's closed forms, quantity -> polynomial."""

    info: LayerInfo
    polys: dict[str, Poly]


@dataclass(frozen=True)
class Derivation:
    """Every total's and layer's closed form; variant 0 is what was asked for, then alternates."""

    model: str
    options: Options
    variables: tuple[Variable, ...]
    fixed: dict[str, int]
    restrictions: tuple[Restriction, ...]
    totals: dict[str, Poly]
    layers: tuple[tuple[Forms, ...], ...]  # per variant: requested, other convention, no bias
    nodes: tuple[tuple[int, ...], ...]
    spans: tuple[tuple[int, int], ...]  # per variable: the range probed and confirmed on
    samples: int
    seconds: float
    order: tuple[str, ...] = ()  # how the model's symbols are listed in a formula
    outer: tuple[str, ...] = ()  # symbols shown as common factors (the homework's k and S)

    @property
    def gens(self) -> tuple:
        """The sympy symbols, in the order of the exponent tuples."""
        return tuple(symbol(v.name) for v in self.variables)

    def expr(self, poly: Poly):
        """A polynomial of this derivation as a sympy expression."""
        return from_coefficients(poly, self.gens)

    def show(self, expr) -> str:
        """An expression in this model's symbols, written as on paper."""
        return display(expr, self.order, self.outer)

    def total(self, quantity: str):
        """The closed form of one total."""
        return self.expr(self.totals[quantity])

    def at(self, name: str, value: int) -> Derivation:
        """The same forms with variable `name` held at `value` (one derivation, many sizes)."""
        i = [v.name for v in self.variables].index(name)

        def drop(poly: Poly) -> Poly:
            out: Poly = {}
            for e, c in poly.items():
                key = e[:i] + e[i + 1 :]
                out[key] = out.get(key, Fraction(0)) + c * value ** e[i]
            return {e: c for e, c in out.items() if c}

        return replace(
            self,
            variables=self.variables[:i] + self.variables[i + 1 :],
            fixed={**self.fixed, name: value},
            restrictions=tuple(r for r in self.restrictions if r.name != name),
            totals={q: drop(p) for q, p in self.totals.items()},
            layers=tuple(
                tuple(Forms(f.info, {q: drop(p) for q, p in f.polys.items()}) for f in forms)
                for forms in self.layers
            ),
            nodes=self.nodes[:i] + self.nodes[i + 1 :],
            spans=self.spans[:i] + self.spans[i + 1 :],
        )

    def other_convention(self) -> Derivation:
        """The forms under the other convention, from the same counts (variant 1 first)."""
        requested, other, unbiased = self.layers
        totals = {q: summed(other, q) for q in QUANTITIES}
        options = replace(self.options, convention=_flip(self.options.convention))
        # biases are weights, the same under both conventions: `unbiased` still applies
        return replace(self, options=options, totals=totals, layers=(other, requested, unbiased))

    def probed_dict(self) -> dict[str, Any]:
        """What the forms were derived over, for any --json object: variables, fixed values,
        restrictions, the spans each variable was confirmed on, samples, seconds."""
        return {
            "variables": [v.name for v in self.variables],
            "fixed": dict(self.fixed),
            "restrictions": [r.to_dict() for r in self.restrictions],
            "confirmed_on": {v.name: list(s) for v, s in zip(self.variables, self.spans)},
            "samples": self.samples,
            "seconds": round(self.seconds, 3),
        }

    def to_dict(self, per_layer: bool = False) -> dict[str, Any]:
        """The CLI's --json object: sympy strings, variables, restrictions (and layers)."""
        out: dict[str, Any] = {
            "model": self.model,
            "convention": self.options.convention.value,
            "formulas": {q: str(self.total(q)) for q in QUANTITIES},
            "display": {q: self.show(self.total(q)) for q in QUANTITIES},
            **self.probed_dict(),
        }
        if per_layer:
            out["layers"] = [
                {
                    "name": f.info.label,
                    "type": f.info.type,
                    "kind": f.info.kind.value,
                    **{q: str(self.expr(f.polys[q])) for q in QUANTITIES},
                }
                for f in self.layers[0]
            ]
        return out


def summed(forms: Sequence[Forms], quantity: str) -> Poly:
    """The polynomial sum of `forms`' `quantity`, zero terms dropped."""
    out: Poly = {}
    for f in forms:
        for e, c in f.polys[quantity].items():
            out[e] = out.get(e, Fraction(0)) + c
    return {e: c for e, c in out.items() if c}


def _flip(convention: Convention) -> Convention:
    return Convention.MODULES if convention is Convention.UNITS else Convention.UNITS
