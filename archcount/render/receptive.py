"""Receptive fields -> a rich table; pure: prints nothing itself."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.formulas.receptive import SERIES, FieldClass, FieldDerivation
from archcount.receptive.summary import DimField, ReceptiveFields

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


def receptive_table(fields: ReceptiveFields) -> Table:
    """One row per module call (size, jump, offset per dim), then the model's output."""
    table = Table(title="receptive field", title_justify="left", caption=CAPTION,
                  caption_justify="left")  # fmt: skip
    for header in ("layer", "type"):
        table.add_column(header, overflow="fold")
    for header in ("size", "jump", "offset"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in fields.layers:
        shown = cells(row.dims) if row.depends else ("", "", "")
        table.add_row(row.label, row.type, *shown, style="" if row.depends else "dim")
    table.add_section()
    table.add_row("output", "", *cells(fields.output), style="bold")
    return table


def receptive_renderable(fields: ReceptiveFields) -> Group:
    """The table and the pass's warnings."""
    items = [receptive_table(fields)]
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
        title=f"{d.model}: receptive field closed forms",
        caption="; ".join(c for c in caption if c),
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
            table.add_row(*([label or "output"] if per_layer else []), *row)
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
