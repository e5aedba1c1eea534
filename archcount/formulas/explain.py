"""Compare a user's formula with the derived truth; attribute a difference to layers.

difference = truth − yours. We look for the fewest groups of layers whose forms sum to it:
a layer type's whole contribution or one layer (missing from yours), biases (missing), and
what the other convention counts that this one does not (missing or extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Any

from archcount.formulas.derived import Derivation, Forms, Poly, summed
from archcount.formulas.symbolic import display, expand, from_coefficients, held, to_coefficients
from archcount.records import Convention

MAX_PARTS = 3


@dataclass(frozen=True)
class Part:
    """A group of layers: its contribution, what it is, +1 missing from yours / −1 extra in it."""

    poly: Poly
    what: str
    sign: int
    layers: tuple[str, ...] = ()  # the labels, to tell one set of layers reached two ways


@dataclass(frozen=True)
class Verdict:
    """One --expect compared with the derivation: right, or the difference and its parts."""

    quantity: str
    expected: Any  # sympy expressions
    truth: Any
    difference: Any  # truth − expected
    parts: tuple[tuple[Part, ...], ...]  # each set accounts for the difference; () for none
    order: tuple[str, ...] = ()  # how the derivation writes its symbols (Derivation.show)
    outer: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the formulas agree symbolically."""
        return self.difference == 0

    def explanation(self, gens) -> str:
        """'missing 640NF + 1024NC: the ReLU outputs (…), counted under `modules`, …'."""
        if self.ok:
            return "right"
        if not self.parts:
            return (
                f"off by {self.show(self.difference)} (truth − yours); "
                "no group of layers accounts for it"
            )
        first, *others = self.parts
        text = "; ".join(
            f"{'missing' if p.sign > 0 else 'extra'} "
            f"{self.show(from_coefficients(p.poly, gens))}: {p.what}"
            for p in first
        )
        alike = [" and ".join(p.what for p in combo) for combo in others[:2]]
        return text + "".join(f" (or: {a})" for a in alike)

    def show(self, expr) -> str:
        """An expression written as the derivation writes its forms."""
        return display(expr, self.order, self.outer)

    def to_dict(self, gens) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "quantity": self.quantity,
            "ok": self.ok,
            "expected": str(self.expected),
            "derived": str(self.truth),
            "difference": str(self.difference),
            "explanation": self.explanation(gens),
        }


def compare(derivation: Derivation, quantity: str, expected) -> Verdict:
    """Verdict of `expected` against the derived total, with fixed variables substituted."""
    expected = held(expected, derivation.fixed)
    truth = derivation.total(quantity)
    difference = expand(truth - expected)
    parts: tuple = ()
    if difference != 0:
        poly = to_coefficients(difference, derivation.gens)
        parts = () if poly is None else attribute(poly, atoms(derivation, quantity))
    return Verdict(quantity, expected, truth, difference, parts, derivation.order, derivation.outer)


def attribute(difference: Poly, candidates: Sequence[Part]) -> tuple[tuple[Part, ...], ...]:
    """Every fewest-candidates set whose signed sum is `difference`, earlier candidates first."""
    for size in range(1, MAX_PARTS + 1):
        found = [c for c in combinations(candidates, size) if _signedsummed(c) == difference]
        if found:
            return tuple(found)
    return ()


def atoms(derivation: Derivation, quantity: str) -> list[Part]:
    """Candidate groups: whole types, the convention's difference, biases, then single layers."""
    requested, other, unbiased = derivation.layers
    conv = derivation.options.convention
    other_name = "units" if conv is Convention.MODULES else "modules"
    out = []  # most likely confusions first: the convention, biases, whole types, one layer
    for t, fs in _by_type(other):
        mine = [f for f in requested if f.info.type == t]
        delta = _minus(summed(fs, quantity), summed(mine, quantity))
        counted_there = any(v > 0 for v in delta.values())
        sign = -1 if counted_there else +1  # extra in yours when only the other counts them
        yes, no = (other_name, conv.value) if counted_there else (conv.value, other_name)
        note = f"counted under `{yes}`, not under `{no}`"
        what = f"the {t} {quantity} ({_labels(fs)}), {note}"
        out.append(Part(_abs(delta), what, sign, tuple(f.info.label for f in fs)))
    for t, fs in _by_type(unbiased) if quantity == "weights" else ():  # biases are weights
        mine = [f for f in requested if f.info.type == t]
        bias = _minus(summed(mine, quantity), summed(fs, quantity))
        out.append(Part(bias, f"the {t} biases", +1, ("bias", *tuple(f.info.label for f in fs))))
    out += [_group(fs, quantity, f"the {t} {quantity}", +1) for t, fs in _by_type(requested)]
    singles = [f for t, fs in _by_type(requested) if len(fs) > 1 for f in fs]
    out += [_group([f], quantity, f"{f.info.label} ({f.info.type})", +1) for f in singles]
    unique: dict[tuple, Part] = {}  # the same layers reached two ways: keep the first reason
    for p in out:
        if p.poly:
            unique.setdefault((frozenset(p.poly.items()), p.sign, p.layers), p)
    return list(unique.values())


def _group(forms: Sequence[Forms], quantity: str, what: str, sign: int) -> Part:
    labels = f" ({_labels(forms)})" if len(forms) > 1 else ""
    return Part(summed(forms, quantity), what + labels, sign, tuple(f.info.label for f in forms))


def _by_type(forms: Sequence[Forms]) -> list[tuple[str, list[Forms]]]:
    groups: dict[str, list[Forms]] = {}
    for f in forms:
        groups.setdefault(f.info.type, []).append(f)
    return list(groups.items())


def _labels(forms: Sequence[Forms]) -> str:
    return ", ".join(f.info.label for f in forms)


def _minus(a: Poly, b: Poly) -> Poly:
    out = dict(a)
    for e, c in b.items():
        out[e] = out.get(e, Fraction(0)) - c
    return {e: c for e, c in out.items() if c}


def _abs(p: Poly) -> Poly:
    negative = any(c < 0 for c in p.values()) and not any(c > 0 for c in p.values())
    return {e: -c for e, c in p.items()} if negative else p


def _signedsummed(parts: Sequence[Part]) -> Poly:
    out: Poly = {}
    for p in parts:
        for e, c in p.poly.items():
            out[e] = out.get(e, Fraction(0)) + p.sign * c
    return {e: c for e, c in out.items() if c}
