"""Padding answers -> rich renderables; pure: prints nothing itself."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.padding.equations import Answer, Op, pytorch_hint
from archcount.padding.model import ModelPadding
from archcount.records import call_label
from archcount.render.text import literal, title

_AXES = {1: ("",), 2: ("h", "w"), 3: ("d", "h", "w")}


def _size(values: tuple[int, ...]) -> str:
    return "×".join(map(str, values))


def _same(values: tuple[int, ...]) -> str:
    """One number when every dim agrees, else 4×3."""
    return str(values[0]) if len(set(values)) == 1 else _size(values)


def pad_text(solution, field: str = "padding") -> str:
    """'1', '(1, 2)' for (before, after), or per dim 'h: 1, w: 2'."""
    pads = solution.pads
    if field == "output_padding":
        per = [str(p.output_padding) for p in pads]
    else:
        per = [str(p.before) if p.symmetric else f"({p.before}, {p.after})" for p in pads]
    if all(x == per[0] for x in per):
        return per[0]
    return ", ".join(f"{axis}: {x}" for axis, x in zip(_AXES[len(pads)], per))


def equation_renderable(answer: Answer):
    """A table of every solution, then how to write an asymmetric one in PyTorch."""
    e = answer.equation
    transposed = e.op is Op.TRANSPOSED
    title = (
        f"{'ConvTranspose' if transposed else 'Conv'}{e.dims}d: k={_same(e.kernel)}, "
        f"stride {_same(e.stride)}, dilation {_same(e.dilation)}, "
        f"{_size(e.size_in)} → {_size(e.size_out)}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("padding", no_wrap=True)
    if transposed:
        table.add_column("output_padding", no_wrap=True)
    table.add_column("PyTorch")
    for s in answer.solutions:
        cells = [pad_text(s)] + ([pad_text(s, "output_padding")] if transposed else [])
        table.add_row(*cells, pytorch_hint(e, s))
    if answer.symmetric:
        return table
    what = "crop" if transposed else "pad"
    note = (
        f"no symmetric padding gives {_size(e.size_in)} → {_size(e.size_out)}: "
        f"{what} (before, after) unequally (PyTorch's padding= pads both sides alike)"
    )
    return Group(table, Text(note, style="yellow"))


def model_renderable(result: ModelPadding):
    """One row per conv call (shapes at the reference k, padding at the new k), then notes."""
    table = Table(
        title=title(
            f"{result.model}: paddings at k={result.kernel} that keep the shapes of "
            f"k={result.reference_kernel}"
        ),
        caption="padding: zeros added (conv) or outputs cropped (transposed), (before, after) "
        f"when unequal; as built: the layer made at k={result.kernel} already keeps its shape",
        caption_justify="left",
    )
    for header in ("layer", "type", "in → out", "stride", "padding", "output_padding"):
        table.add_column(header, no_wrap=True)
    table.add_column("as built", justify="center")
    notes = []
    for row in result.layers:
        name = call_label(row.name, row.call)
        table.add_row(
            literal(name), *_model_cells(row), style="" if row.answer.symmetric else "yellow"
        )
        if row.best is None:
            notes.append(f"{name}: no padding fits: {row.answer.reason}")
        elif not row.best.symmetric:
            notes.append(f"{name}: no symmetric padding; {row.answer.pytorch}")
    return Group(table, Text("\n".join(notes), style="yellow")) if notes else table


def _model_cells(row) -> list[Text | str]:
    e, best = row.answer.equation, row.best
    transposed = e.op.value == "transposed"
    return [
        literal(row.type),
        f"{_size(e.size_in)} → {_size(e.size_out)}",
        _same(e.stride),
        pad_text(best) if best else "none",
        pad_text(best, "output_padding") if best and transposed else "",
        "✓" if row.keeps else "✗",
    ]
