"""How numbers, shapes and marks are written in every table."""

from __future__ import annotations

MARK_STYLE = {"✓": "green", "✗": "bold red", "n/a": "dim"}


def n(value: int | None) -> str:
    """Thousands-separated count, '?' for unknown."""
    return "?" if value is None else f"{value:,}"


def shape(s: tuple[int, ...] | None) -> str:
    """(1, 32, 16, 16) -> '1×32×16×16'."""
    return "" if s is None else "×".join(map(str, s))
