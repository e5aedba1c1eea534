"""Report -> rich renderables; pure: prints nothing itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.formulas.declared import DeclaredCheck
from archcount.front.counted import Counted
from archcount.records import Convention, Kind, LayerCount, Report, Source
from archcount.render.checks import cross_check_renderable, functional_renderable
from archcount.render.fit import FitTable
from archcount.render.text import MARK_STYLE, caption, literal, n, shape, title

if TYPE_CHECKING:
    from archcount.render.summary import Summary


def report_table(report: Report) -> Table:
    """One row per module call, then a totals row."""
    t = report.totals
    table = FitTable(
        title=title(f"{report.model} on {shape(report.input_shape)}"),
        caption=caption(report),
        show_footer=True,
        caption_justify="left",
        droppable=("output", "type"),
    )
    conn = n(t.connections) + (" + ?" if t.unknown else "")
    exact = n(t.connections_exact) + (" + ?" if t.unknown else "")
    for header in ("layer", "type", "output"):
        table.add_column(header, footer="total" if header == "layer" else "", overflow="fold")
    # Counts never wrap or truncate: a clipped number is a wrong number.
    for header, footer in (
        ("weights", n(t.weights)),
        ("outputs", n(t.outputs)),
        ("connections", conn),
        ("exact", exact),
    ):
        table.add_column(
            header,
            footer=footer,
            justify="right",
            no_wrap=True,
            min_width=max(len(header), len(footer)),
        )
    for row in report.layers:
        table.add_row(*_cells(row), style=_style(row, report.convention))
    return table


def _cells(row: LayerCount) -> list[Text | str]:
    per_example = row.output_shape[1:] if row.output_shape else None
    kind = f"{row.type} (from ops)" if row.source is Source.OPS else row.type
    if row.kind is Kind.CACHE:  # its copies are in no column's total: said beside the type
        kind = f"{row.type} (cache: {n(row.cache_copies)} copies)"
    return [
        literal(row.label),
        literal(kind),
        shape(per_example),
        n(row.weights),
        n(row.outputs),
        n(row.connections),
        n(row.connections_exact),
    ]


def _style(row: LayerCount, convention: Convention) -> str:
    if row.kind is Kind.UNSUPPORTED:
        return "yellow"
    if row.kind is Kind.CACHE:
        return "dim"
    quiet = row.kind.silent_under(convention)
    return "dim" if quiet else ""


def warnings_renderable(report: Report) -> Text:
    """Every warning on its own yellow line."""
    return Text("\n".join(f"warning: {w}" for w in report.warnings), style="yellow")


def report_renderable(report: Report, table: Table | None = None) -> Group:
    """The table (per layer, unless another is given), the trainable/frozen split, warnings."""
    t = report.totals
    items = [report_table(report) if table is None else table]
    if t.frozen_weights:
        items.append(
            Text(f"weights: {n(t.trainable_weights)} trainable, {n(t.frozen_weights)} frozen")
        )
    if t.cache_copies:
        items.append(
            Text(
                f"cache copies: {n(t.cache_copies)} elements written to a kept state (a KV "
                "cache), not in the connections"
            )
        )
    if report.warnings:
        items.append(warnings_renderable(report))
    return Group(*items)


def declared_table(checks: Sequence[DeclaredCheck]) -> Table:
    """Declared formula, its value at the counted arguments, the hooks' count, ✓/✗."""
    table = Table(title="declared formulas", title_justify="left", caption_justify="left")
    table.add_column("quantity")
    table.add_column("formula", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("hooks", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for c in checks:
        value = (
            c.why_not
            if c.value is None
            else n(c.value)
            if isinstance(c.value, int)
            else str(c.value)
        )
        table.add_row(
            c.quantity,
            literal(c.formula),
            literal(value),
            n(c.counted),
            Text(c.status, MARK_STYLE[c.status]),
        )
    return table


def counted_renderable(
    counted: Counted, table: Table | None = None, summary: Summary | None = None
) -> Group:
    """The main command's output: the report (or `table` in its place), the functional ops,
    the peers, the declared formulas, training and fields; with a `summary` at a depth, the
    count, training and field tables show its modules down to that depth."""
    depth = None if summary is None else summary.depth
    if table is None and depth is not None:
        from archcount.render.modules import modules_table

        table = modules_table(counted.report, summary.root, depth, summary.note)
    items = [report_renderable(counted.report, table)]
    if counted.functional is not None and counted.functional.ops and not counted.functional_added:
        items.append(functional_renderable(counted.functional, counted.functional_added))
    if counted.cross is not None:
        items.append(cross_check_renderable(counted.cross))
    if counted.declared:
        items.append(declared_table(counted.declared))
    # lazy: their closed forms import sympy (~0.7 s), which a plain count never needs
    if counted.training is not None:
        from archcount.render.training import training_renderable

        items.append(training_renderable(counted.training, counted.fit, summary))
    if counted.receptive is not None:
        from archcount.render.receptive import receptive_renderable

        items.append(receptive_renderable(counted.receptive, summary))
    return Group(*items)
