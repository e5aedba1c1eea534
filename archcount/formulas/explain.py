"""Compare a user's formula with the derived truth; say which layers account for a difference.

difference = truth − yours. The explanation names layers only when every story that accounts
for it exactly (formulas.stories: one change, else two) is shown, at most MAX_SHOWN of them,
and says it cannot tell which when there are several; otherwise it says it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archcount.formulas.derived import Derivation, Poly
from archcount.formulas.stories import Story, find
from archcount.formulas.symbolic import display, expand, held, to_coefficients

MAX_SHOWN = 3


@dataclass(frozen=True)
class Verdict:
    """One --expect compared with the derivation: right, or the difference and its stories."""

    quantity: str
    expected: Any  # sympy expressions
    truth: Any
    difference: Any  # truth − expected
    stories: tuple[Story, ...]  # every story that accounts for the difference; () for none
    order: tuple[str, ...] = ()  # how the derivation writes its symbols (Derivation.show)
    outer: tuple[str, ...] = ()
    polynomial: bool = True  # False: the difference is no polynomial in the variables

    @property
    def ok(self) -> bool:
        """True when the formulas agree symbolically."""
        return self.difference == 0

    @property
    def known(self) -> Story | None:
        """The one story that accounts for the difference, when exactly one does."""
        return self.stories[0] if len(self.stories) == 1 else None

    def explanation(self) -> str:
        """'missing 4NF + 2NC: the Conv2d biases (…)', its alternatives, or 'not known'."""
        if self.ok:
            return "right"
        off = f"off by {self.show(self.difference)} (truth − yours); not known"
        if not self.polynomial:
            return off + ": the difference is not a polynomial in the variables"
        if not self.stories:
            return off + (
                ": no one change to a layer, a group or a run of layers, or to the whole "
                "formula, accounts for it, nor two"
            )
        if len(self.stories) > MAX_SHOWN:
            some = "; ".join(s.what for s in self.stories[:2])
            return off + f" which: {len(self.stories)} different changes account for it ({some}; …)"
        first, *others = self.stories
        text = f"{self._amount()}: {first.what}" + "".join(f" (or: {s.what})" for s in others)
        return text + ("; cannot tell which" if others else "")

    def _amount(self) -> str:
        coefficients = [c for c in self.difference.as_coefficients_dict().values()]
        if all(c > 0 for c in coefficients):
            return f"missing {self.show(self.difference)}"
        if all(c < 0 for c in coefficients):
            return f"extra {self.show(-self.difference)}"
        return f"off by {self.show(self.difference)}"

    def show(self, expr) -> str:
        """An expression written as the derivation writes its forms; a whole number as 45,056."""
        return f"{int(expr):,}" if expr.is_Integer else display(expr, self.order, self.outer)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "quantity": self.quantity,
            "ok": self.ok,
            "expected": str(self.expected),
            "derived": str(self.truth),
            "difference": str(self.difference),
            "explanation": self.explanation(),
            "accounted_for_by": [s.what for s in self.stories[:MAX_SHOWN]],
            "known": self.ok or 0 < len(self.stories) <= MAX_SHOWN,
        }


def compare(derivation: Derivation, quantity: str, expected) -> Verdict:
    """Verdict of `expected` against the derived total, with fixed variables substituted."""
    expected = held(expected, derivation.fixed)
    truth = derivation.total(quantity)
    difference = expand(truth - expected)
    poly: Poly | None = {}
    stories: tuple[Story, ...] = ()
    if difference != 0:
        poly = to_coefficients(difference, derivation.gens)
        stories = () if poly is None else find(derivation, quantity, poly)
    return Verdict(
        quantity,
        expected,
        truth,
        difference,
        stories,
        derivation.order,
        derivation.outer,
        poly is not None,
    )
