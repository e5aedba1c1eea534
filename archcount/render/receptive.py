"""Receptive fields -> a rich table; pure: prints nothing itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.formulas.receptive import SERIES, FieldClass, FieldDerivation
from archcount.receptive.summary import DimField, LayerField, ReceptiveFields
from archcount.render.fit import FitTable
from archcount.render.modules import tree_rows
from archcount.render.text import literal, title
from archcount.render.tree import Node

if TYPE_CHECKING:
    from archcount.render.summary import Summary

CAPTION = (
    "size: extent in input positions of what one output unit reads, smallest–largest over "
    "output positions (they differ after upsampling or a strided transposed conv), away from "
    "borders; jump: input positions per output position; offset: the first input position "
    "output 0 reads (negative: in the padding); ?: no rule follows it"
)


def _fraction(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _size(d: DimField) -> str:
    return str(d.largest) if d.largest == d.smallest else f"{d.smallest}–{d.largest}"


def _per_dim(dims: Sequence[DimField], cell) -> str:
    return " × ".join(cell(d) for d in dims)


def cells(dims: Sequence[DimField] | None) -> tuple[str, str, str]:
    """(size, jump, offset) per dim joined by ' × '; '?' when unknown."""
    if dims is None:
        return ("?", "?", "?")
    return (
        _per_dim(dims, _size),
        _per_dim(dims, lambda d: _fraction(d.jump)),
        _per_dim(dims, lambda d: "?" if d.offset is None else str(d.offset)),
    )


def receptive_table(fields: ReceptiveFields, summary: Summary | None = None) -> Table:
    """One row per module call (size, jump, offset per dim), or per module down to the
    summary's depth (the field of the last call inside it), then the model's output."""
    depth = None if summary is None else summary.depth
    per = (
        ""
        if depth is None
        else f"modules to depth {depth}: a module's field is its last layer call's (in a run "
        "of blocks, the last block's); "
    )
    table = FitTable(title="receptive field", title_justify="left", caption=per + CAPTION,
                     caption_justify="left", droppable=("type",))  # fmt: skip
    table.add_column("layer" if depth is None else "module", overflow="fold")
    table.add_column("type", overflow="fold")
    for header in ("size", "jump", "offset"):
        table.add_column(header, justify="right", no_wrap=True)
    rows = [(x.label, x.type, x) for x in fields.layers]
    if depth is not None:
        last = last_calls(fields)
        rows = [(label, x.type, last(x)) for x, label in tree_rows(summary.root, depth)]
    for label, type_, row in rows:
        quiet = row is None or not row.depends
        shown = ("", "", "") if quiet else cells(row.dims)
        table.add_row(literal(label), literal(type_), *shown, style="dim" if quiet else "")
    table.add_section()
    table.add_row("output", "", *cells(fields.output), style="bold")
    return table


def last_calls(fields: ReceptiveFields) -> Callable[[Node], LayerField | None]:
    """node -> the field of the last module call (in the pass's order) among its rows."""
    order = {x.label: i for i, x in enumerate(fields.layers)}

    def last(node: Node) -> LayerField | None:
        calls = [order[r.label] for r in node.rows if r.label in order]
        return fields.layers[max(calls)] if calls else None

    return last


def receptive_renderable(fields: ReceptiveFields, summary: Summary | None = None) -> Group:
    """The table and the pass's warnings."""
    items = [receptive_table(fields, summary)]
    if fields.warnings:
        items.append(Text("\n".join(f"warning: {w}" for w in fields.warnings), style="yellow"))
    return Group(*items)


def _forms(d: FieldDerivation, cls: FieldClass, label: str, series: str) -> str:
    """One series' forms over the dims: once when every dim has the same, else joined by ×."""
    forms = [d.form(cls, label, series, i) or "?" for i in range(d.dims)]
    return forms[0] if len(set(forms)) == 1 else " × ".join(forms)


def field_derivation_table(d: FieldDerivation, per_layer: bool = False) -> Table:
    """One row per residue class (and layer): largest, smallest and jump as closed forms."""
    caption = [
        f"variables {', '.join(v.name for v in d.variables) or 'none'}",
        "fixed " + ", ".join(f"{k}={v}" for k, v in d.fixed.items()) if d.fixed else "",
        f"{d.samples} field passes, {d.seconds:.1f} s",
        "one form for every spatial dim unless shown per dim (×)",
    ]
    table = Table(
        title=title(f"{d.model}: receptive field closed forms"),
        caption=literal("; ".join(c for c in caption if c), "table.caption"),
        caption_justify="left",
    )
    for header in ("layer", "holds for", "confirmed on"):
        if header != "layer" or per_layer:
            table.add_column(header, overflow="fold")
    for header in ("largest", "smallest", "jump"):
        table.add_column(header, overflow="fold")
    labels = ["", *d.labels] if per_layer else [""]
    for label in labels:
        for cls in d.classes:
            spans = ", ".join(f"{v.name} {a}–{b}" for v, (a, b) in zip(d.variables, cls.spans))
            row = [cls.residue.text(), spans, *(_forms(d, cls, label, s) for s in SERIES)]
            cells = [literal(c) for c in ([label or "output"] if per_layer else []) + row]
            table.add_row(*cells)
        if per_layer:
            table.add_section()
    return table


def field_derivation_renderable(d: FieldDerivation, per_layer: bool = False) -> Group:
    """The forms, and the classes of the variables that cannot be built."""
    items = [field_derivation_table(d, per_layer)]
    if d.unbuildable:
        lines = [f"cannot be built for {r.text()}: {why}" for r, why in d.unbuildable]
        items.append(Text("\n".join(lines), style="yellow"))
    return Group(*items)
