"""Charts as PNG or SVG bytes: counts per layer, and each total over one variable.

matplotlib is imported here only, inside the drawing functions, and through its object API
(Figure, no pyplot): no global backend is switched, nothing is shown, nothing is written.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archcount.errors import InputError
from archcount.records import Report
from archcount.render.text import shape

if TYPE_CHECKING:  # front.series imports sympy: not for every count
    from archcount.front.series import Series

FORMATS = {".png": "png", ".svg": "svg"}
COLOURS = {"weights": "#4c72b0", "outputs": "#dd8452", "connections": "#55a868"}
FONT = 10  # points: legible at 100 % on a 100-dpi PNG
MAX_ROWS = 60  # 1.6 + 0.3·60 inches: a 1,960-pixel PNG; a 5,000-layer model would be 150,000
QUANTITIES = ("weights", "outputs", "connections")


@dataclass(frozen=True)
class Bar:
    """One bar group of the per-layer chart: a layer or a module's subtotal."""

    label: str
    weights: int
    outputs: int
    connections: int | None  # None: unknown


def chart_format(path: str | Path) -> str:
    """'png' or 'svg' from a file's suffix; anything else is an InputError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--plot {path}: use a .png or .svg file")
    return FORMATS[suffix]


def layer_bars(report: Report) -> list[Bar]:
    """A bar per row of the report."""
    return [
        Bar(f"{x.label} ({x.type})", x.weights, x.outputs, x.connections) for x in report.layers
    ]


@dataclass(frozen=True)
class Rows:
    """The rows a per-layer chart draws: `bars`, after `silent` rows that count nothing were
    left out and the `summed` smallest were folded into the last bar (none: nothing summed)."""

    bars: tuple[Bar, ...]
    silent: int
    summed: int


def chart_rows(bars: Sequence[Bar], limit: int = MAX_ROWS) -> Rows:
    """At most `limit` rows: every bar that counts something, or, past the limit, the
    limit − 1 largest (by their largest share of a panel's total) in order and one bar
    summing the rest, unknown connections kept unknown."""
    drawn = [b for b in bars if b.weights or b.outputs or b.connections != 0]
    silent = len(bars) - len(drawn)
    if len(drawn) <= limit:
        return Rows(tuple(drawn), silent, 0)
    totals = {q: sum(getattr(b, q) or 0 for b in drawn) or 1 for q in QUANTITIES}
    share = [max((getattr(b, q) or 0) / totals[q] for q in QUANTITIES) for b in drawn]
    kept = set(sorted(range(len(drawn)), key=lambda i: -share[i])[: limit - 1])
    rest = [b for i, b in enumerate(drawn) if i not in kept]
    connections = [b.connections for b in rest]
    last = Bar(
        f"… {len(rest):,} more rows, summed",
        sum(b.weights for b in rest),
        sum(b.outputs for b in rest),
        None if None in connections else sum(connections),
    )
    return Rows((*(b for i, b in enumerate(drawn) if i in kept), last), silent, len(rest))


def layers_chart(report: Report, bars: Sequence[Bar], fmt: str, log: bool = False) -> bytes:
    """Three panels side by side (weights, outputs, connections), a row per bar that counts
    something (rows silent under the convention, as activations under `units`, left out), at
    most MAX_ROWS rows (chart_rows)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    rows = chart_rows(bars)
    bars = rows.bars
    height = 1.6 + 0.3 * max(len(bars), 3)
    fig = Figure(figsize=(13, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    ys = list(range(len(bars)))
    for ax, quantity in zip(axes, QUANTITIES):
        values = [getattr(b, quantity) for b in bars]
        known = [v or 0 for v in values]
        ax.barh(ys, known, color=COLOURS[quantity], height=0.7)
        for y, v in zip(ys, values):
            ax.annotate(
                "?" if v is None else _short(v),
                (max(v or 0, 1) if log else (v or 0), y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=FONT - 2,
            )
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # 2×10³, 3×10³, … would overlap
        else:
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
        ax.set_xlabel(_axis_label(quantity, report, log), fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.18)
    axes[0].set_yticks(ys, [b.label for b in bars], fontsize=FONT - 1)
    axes[0].invert_yaxis()  # first layer on top, as in the table
    fig.suptitle(_layers_title(report, rows), fontsize=FONT + 2)
    return _saved(fig, fmt)


def _layers_title(report: Report, rows: Rows) -> str:
    left_out = f"; {rows.silent} rows that count nothing left out" if rows.silent else ""
    if rows.summed:
        left_out += f"; the {len(rows.bars) - 1} largest rows drawn, {rows.summed:,} more summed"
    where = f"{report.model} on {shape(report.input_shape)}"
    return f"{where}: per example ({report.convention.value}){left_out}"


def series_chart(s: Series, fmt: str) -> bytes:
    """A panel per total: the closed form as a curve over the variable, the hooks as points."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8), dpi=100, layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    lo, hi = s.xs[0], s.xs[-1]
    fine = [lo + (hi - lo) * i / 200 for i in range(201)] if hi > lo else [lo]
    for ax, q in zip(axes, s.forms):
        ax.plot(fine, [s.value(q, x) for x in fine], color="#4c72b0", label="closed form")
        on = [(x, c) for x, c, h in zip(s.xs, s.counted[q], s.holds[q]) if c is not None and h]
        off = [(x, c) for x, c, h in zip(s.xs, s.counted[q], s.holds[q]) if c is not None and not h]
        if on:
            ax.plot(*zip(*on), "o", color="#dd8452", label="hooks")
        if off:
            label = f"hooks, outside {s.condition[q]}"
            ax.plot(*zip(*off), "o", mfc="none", color="#8c8c8c", label=label)
        ax.set_title(f"{q} = {_wrapped(s.shown[q])}", fontsize=FONT)
        ax.set_xlabel(s.variable, fontsize=FONT)
        ax.set_ylabel(q, fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=FONT - 1)
    held = ", ".join(f"{k}={v}" for k, v in s.held.items())
    fig.suptitle(
        f"{s.model}: totals over {s.variable}" + (f" ({held})" if held else ""),
        fontsize=FONT + 2,
    )
    return _saved(fig, fmt)


def _axis_label(quantity: str, report: Report, log: bool) -> str:
    what = {"outputs": "outputs (units)", "connections": "connections (nominal)"}
    return what.get(quantity, quantity) + (", log scale" if log else "")


def _short(value: int) -> str:
    """12,345,678 -> '12.3M'."""
    for size, unit in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def _wrapped(text: str, width: int = 44) -> str:
    """A long formula over lines of at most about `width` characters, broken before + or −."""
    lines: list[str] = []
    for term in re.split(r" (?=[+−] )", text.replace(" - ", " − ")):
        if lines and len(lines[-1]) + len(term) < width:
            lines[-1] += " " + term
        else:
            lines.append(term)
    return "\n".join(lines)


def _saved(fig, fmt: str) -> bytes:
    from matplotlib import rc_context

    buffer = io.BytesIO()
    # SVG: text kept as text (searchable, selectable) and no date stamp: equal charts, equal files
    meta = {"Date": None} if fmt == "svg" else {"Software": None}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "archcount"}):
        fig.savefig(buffer, format=fmt, metadata=meta)
    return buffer.getvalue()
