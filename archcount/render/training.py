"""TrainingCost and Fit -> rich renderables; pure: prints nothing itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.formulas.training import TRAINING_QUANTITIES, TrainingDerivation
from archcount.render.fit import FitTable
from archcount.render.modules import tree_rows
from archcount.render.text import literal, n, title
from archcount.training.cost import LayerCost, TrainingCost
from archcount.training.fit import Fit

if TYPE_CHECKING:
    from archcount.render.summary import Summary

# a row's cells: each column's header and its LayerCost field (saved and params in bytes)
COLUMNS = (
    ("forward MACs", "forward_macs"),
    ("input-grad MACs", "backward_input_macs"),
    ("weight-grad MACs", "backward_weight_macs"),
    ("saved", "saved_bytes"),
    ("params", "param_bytes"),
)
_BYTES = {"saved_bytes", "param_bytes"}


def size(b: int) -> str:
    """Bytes in binary units: '62.89 MiB', '1.50 GiB', '512 B'."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{b} B"


def training_table(cost: TrainingCost, summary: Summary | None = None) -> Table:
    """A row per layer call (or per module down to the summary's depth): forward and
    backward MACs, bytes saved and of its parameters."""
    o = cost.options
    depth = root = None
    if summary is not None and summary.depth is not None:
        root = summary.tree(cost.layers, training_counts)
        depth = summary.depth_of(root)
    per = "" if depth is None else f"modules to depth {depth}, each the sum of the rows under it; "
    table = FitTable(
        title=title(
            f"training step at batch {o.batch}: {o.optimizer.value}, {o.precision.value}"
            + (f", frozen {' '.join(o.freeze)}" if o.freeze else "")
        ),
        caption=per + "MACs of the whole batch (conv, matmul, attention; backward from each "
        "op's rule, not run); saved: unique storages autograd keeps for backward",
        caption_justify="left",
        show_footer=True,
        droppable=("type", "params", "saved"),  # their totals are in the lines below
    )
    table.add_column("layer" if depth is None else "module", footer="total", overflow="fold")
    table.add_column("type", overflow="fold")
    for header, name in COLUMNS:
        table.add_column(header, footer=_cell(name, getattr(cost, name)), justify="right",
                         no_wrap=True)  # fmt: skip
    if depth is None:
        for x in cost.layers:
            table.add_row(literal(x.label), literal(x.type), *_cells([x]), style=_quiet([x]))
        return table
    for node, label in tree_rows(root, depth):
        bold = bool(node.children) and node.depth < depth
        style = "bold" if bold else _quiet(node.rows)
        table.add_row(literal(label), literal(node.type), *_cells(node.rows), style=style)
    return table


def training_counts(rows: Sequence[LayerCost]) -> tuple[int, ...]:
    """What makes two blocks' training rows cost the same: every field's sum."""
    return tuple(sum(getattr(x, name) for x in rows) for _, name in COLUMNS)


def _cells(rows: Sequence[LayerCost]) -> list[str]:
    return [_cell(name, v) for (_, name), v in zip(COLUMNS, training_counts(rows))]


def _cell(name: str, value: int) -> str:
    return size(value) if name in _BYTES else n(value)


def _quiet(rows: Sequence[LayerCost]) -> str:
    """Dim when the rows do nothing in a step: no MACs, nothing saved."""
    busy = any(x.forward_macs or x.backward_macs or x.saved_bytes for x in rows)
    return "" if busy else "dim"


def memory_lines(cost: TrainingCost) -> Text:
    """The step's totals: MACs, and each kind of bytes with the estimated peak."""
    parts = [
        ("training MACs", f"{n(cost.training_macs)} (forward {n(cost.forward_macs)} + backward "
         f"{n(cost.backward_macs)})"),
        ("parameters", size(cost.param_bytes)),
        ("gradients", size(cost.grad_bytes)),
        ("optimizer state", size(cost.optimizer_bytes)),
        ("buffers", size(cost.buffer_bytes)),
        ("activations", f"{size(cost.activation_bytes)} (saved {size(cost.saved_bytes)})"),
        ("estimated peak", f"{size(cost.peak_bytes)} ({n(cost.peak_bytes)} bytes)"),
    ]  # fmt: skip
    return Text("\n".join(f"{k}: {v}" for k, v in parts))


def fit_line(fit: Fit) -> Text:
    """'largest batch in 80.00 GiB: 8,421 (peak 79.99 GiB; 8,422 needs 80.00 GiB)'."""
    if fit.batch == 0:
        return Text(f"not one example fits in {size(fit.limit)}: batch 1 needs "
                    f"{size(fit.peak_next)}", style="red")  # fmt: skip
    return Text(
        f"largest batch in {size(fit.limit)}: {n(fit.batch)} (estimated peak "
        f"{size(fit.peak)} = {size(fit.fixed)} + {n(fit.batch)} × {size(fit.per_example)}; "
        f"{n(fit.batch + 1)} needs {size(fit.peak_next)})",
        style="bold",
    )


def training_renderable(
    cost: TrainingCost, fit: Fit | None = None, summary: Summary | None = None
) -> Group:
    """The per-layer (or per-module, at the summary's depth) table, the totals, and the fit
    when asked."""
    items = [training_table(cost, summary), memory_lines(cost)]
    if fit is not None:
        items.append(fit_line(fit))
    return Group(*items)


def training_forms_renderable(t: TrainingDerivation) -> Group:
    """One row per training total: its closed form; where it was confirmed."""
    d, o = t.derivation, t.options
    where = [f"variables {', '.join(v.name for v in d.variables) or 'none'}"]
    if d.fixed:
        where.append("fixed " + ", ".join(f"{k}={v}" for k, v in d.fixed.items()))
    spans = ", ".join(f"{v.name} {a}–{b}" for v, (a, b) in zip(d.variables, d.spans))
    where += [f"confirmed on {spans}", f"{d.samples} training passes, {d.seconds:.1f} s"]
    table = Table(
        title=title(
            f"{d.model}: training step, {o.optimizer.value}, {o.precision.value}"
            + (f", frozen {' '.join(o.freeze)}" if o.freeze else "")
            + " (MACs; bytes)"
        ),
        caption=literal("; ".join(where), "table.caption"),
        caption_justify="left",
    )
    table.add_column("quantity", no_wrap=True)
    table.add_column("formula", overflow="fold")
    for q in TRAINING_QUANTITIES:
        table.add_row(q, literal(t.form(q)))
    items = [table]
    for r in d.restrictions:
        items.append(Text(f"holds for {r.text()} ({r.name}: {r.why})", style="yellow"))
    return Group(*items)
