"""How numbers, shapes, marks, names and the counting convention are written in every table."""

from __future__ import annotations

from rich.text import Text

from archcount.records import Convention, Report

MARK_STYLE = {"✓": "green", "✗": "bold red", "n/a": "dim"}

_CONVENTION_NOTE = {
    Convention.UNITS: "units: a unit is a weighted sum with its nonlinearity; activations "
    "and dropout add no outputs or connections",
    Convention.MODULES: "modules: every leaf module's output counts; element-wise modules "
    "have one connection per output",
}


def n(value: int | None) -> str:
    """Thousands-separated count, '?' for unknown."""
    return "?" if value is None else f"{value:,}"


def shape(s: tuple[int, ...] | None) -> str:
    """(1, 32, 16, 16) -> '1×32×16×16'."""
    return "" if s is None else "×".join(map(str, s))


def literal(text: str, style: str = "") -> Text:
    """`text` exactly as written: a model's, layer's or type's name is never rich markup
    ('[bold]') nor an emoji code (':llama:')."""
    return Text(text, style=style)


def title(text: str) -> Text:
    """A table title holding user-supplied names, in the title style."""
    return literal(text, "table.title")


def caption(report: Report) -> str:
    """The convention and options the numbers were counted under."""
    parts = [
        _CONVENTION_NOTE[report.convention],
        "counts per example",
        "connections: nominal (taps on zero padding count) and exact (they don't)",
    ]
    if not report.options.include_bias:
        parts.append("biases of weighted layers left out")
    if not report.options.include_norm:
        parts.append("normalisation layers left out")
    return "; ".join(parts)
