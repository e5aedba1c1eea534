"""Check a model's declared formulas against a Report: value at the arguments, ✓ or ✗.

A model declares formulas with a `formulas(convention)` classmethod on its class (see
models/formulas.py); archcount looks the attribute up and never imports `models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcount.records import Report


@dataclass(frozen=True)
class DeclaredCheck:
    """One declared formula at the counted arguments, against the hooks."""

    quantity: str
    formula: str  # readable form
    expr: str  # Python syntax, as declared
    value: int | Fraction | None  # None when the formula does not apply here
    counted: int
    why_not: str = ""  # the unmet condition when value is None

    @property
    def status(self) -> str:
        """'✓', '✗', or 'n/a' when the formula's conditions do not hold."""
        if self.value is None:
            return "n/a"
        return "✓" if self.value == self.counted else "✗"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        value = self.value if self.value is None or isinstance(self.value, int) else str(self.value)
        return {
            "quantity": self.quantity,
            "formula": self.expr,
            "value": value,
            "counted": self.counted,
            "ok": None if self.value is None else self.value == self.counted,
            "not_applicable": self.why_not or None,
        }


def model_class(factory: Any, kwargs: dict[str, Any]) -> type:
    """The class of the model a factory builds (the factory itself when it is a class)."""
    if isinstance(factory, type):
        return factory
    from archcount.target import build_model

    return type(build_model(factory, kwargs, "meta"))


def symbol_values(factory: Any, report: Report) -> dict[str, int]:
    """NIC, NF, NC, k from the arguments (or the constructor's defaults), S from the input."""
    from archcount.closed_form import PARAMS
    from archcount.target import default_of

    values = {}
    for name, param in PARAMS.items():
        value = report.params.get(param, default_of(factory, param))
        if isinstance(value, int) and not isinstance(value, bool):
            values[name] = value
    shape = report.input_shape
    if len(shape) >= 3 and shape[-1] == shape[-2]:
        values["S"] = shape[-1]
    return values


def check_declared(factory: Any, report: Report) -> tuple[DeclaredCheck, ...]:
    """Every declared formula of the model's class checked on `report`; () when none."""
    opts = report.options
    cls = model_class(factory, dict(report.params))
    declare = getattr(cls, "formulas", None)
    if not callable(declare) or not (opts.include_bias and opts.include_norm):
        return ()  # declared formulas count biases and norms, as the homework does
    values = symbol_values(factory, report)
    out = []
    for f in declare(report.convention.value):
        missing = sorted(n for n in f.names if n not in values)
        unmet = [] if missing else f.unmet(values)
        why = f"needs {', '.join(missing or unmet)}" if missing or unmet else ""
        value = None if why else f.value(values)
        counted = getattr(report.totals, f.quantity)
        out.append(DeclaredCheck(f.quantity, f.display(), f.source, value, counted, why))
    return tuple(out)


def agreement(factory: Any, derivation: Any) -> dict[str, bool]:
    """Quantity -> whether the model's declared formula equals the derived one symbolically."""
    import sympy

    from archcount.closed_form import PARAMS
    from archcount.formulas import symbol
    from archcount.target import default_of

    opts = derivation.options
    declare = getattr(model_class(factory, {}), "formulas", None)
    if not callable(declare) or not (opts.include_bias and opts.include_norm):
        return {}
    free = {v.name for v in derivation.variables}
    held = {n: default_of(factory, p) for n, p in PARAMS.items() if n not in free}
    held = {n: v for n, v in held.items() if isinstance(v, int)} | dict(derivation.fixed)
    subs = {symbol(n): v for n, v in held.items() if n not in free}
    return {
        f.quantity: sympy.expand(f.expr.subs(subs) - derivation.total(f.quantity)) == 0
        for f in declare(opts.convention.value)
    }
