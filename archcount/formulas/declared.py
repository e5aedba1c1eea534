"""Check a model's declared formulas against a Report: value at the arguments, ✓ or ✗.

A model declares formulas with a `formulas(convention)` classmethod on its class and what
their symbols stand for with a `formula_symbols` attribute (a Symbols record); see
models/formulas.py. archcount looks the attributes up and never imports `models`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcount.formulas.closed_form import Formula, Symbols
from archcount.records import Options, Report


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


def declared_symbols(cls: type, arguments: Mapping[str, Any]) -> Symbols:
    """The class's `formula_symbols`, else each constructor argument standing for itself."""
    symbols = getattr(cls, "formula_symbols", None)
    if isinstance(symbols, Symbols):
        return symbols
    return Symbols(params={name: name for name in arguments})


def declared_formulas(cls: type, options: Options) -> tuple[Formula, ...]:
    """The class's declared formulas under `options`; () when none, or for a handout variant."""
    declare: Callable | None = getattr(cls, "formulas", None)
    if not callable(declare) or not (options.include_bias and options.include_norm):
        return ()  # declared formulas count biases and norms, as the homework does
    return tuple(declare(options.convention.value))


def check_declared(
    cls: type, arguments: Mapping[str, Any], report: Report
) -> tuple[DeclaredCheck, ...]:
    """Every declared formula of `cls` checked on `report` (built with `arguments`); () if none."""
    formulas = declared_formulas(cls, report.options)
    if not formulas:
        return ()
    values = declared_symbols(cls, arguments).read(arguments, report.input_shape[1:])
    out = []
    for f in formulas:
        missing = sorted(n for n in f.names if n not in values)
        unmet = [] if missing else f.unmet(values)
        why = f"needs {', '.join(missing or unmet)}" if missing or unmet else ""
        value = None if why else f.value(values)
        counted = getattr(report.totals, f.quantity)
        out.append(DeclaredCheck(f.quantity, f.display(), f.source, value, counted, why))
    return tuple(out)


def agreement(cls: type, held: Mapping[str, int], derivation: Any) -> dict[str, bool]:
    """Quantity -> whether `cls`'s declared formula, at the `held` symbol values, equals the
    derived one symbolically."""
    from archcount.formulas.symbolic import same

    return {
        f.quantity: same(f.expr, derivation.total(f.quantity), held)
        for f in declared_formulas(cls, derivation.options)
    }
