"""TrainingCost and Fit -> rich renderables; pure: prints nothing itself."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.formulas.training import TRAINING_QUANTITIES, TrainingDerivation
from archcount.render.text import n
from archcount.training.cost import TrainingCost
from archcount.training.fit import Fit


def size(b: int) -> str:
    """Bytes in binary units: '62.89 MiB', '1.50 GiB', '512 B'."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{b} B"


def training_table(cost: TrainingCost) -> Table:
    """A row per layer call: forward and backward MACs, bytes saved and of its parameters."""
    o = cost.options
    table = Table(
        title=f"training step at batch {o.batch}: {o.optimizer.value}, {o.precision.value}"
        + (f", frozen {' '.join(o.freeze)}" if o.freeze else ""),
        caption="MACs of the whole batch (conv, matmul, attention; backward from each op's "
        "rule, not run); saved: unique storages autograd keeps for backward",
        caption_justify="left",
        show_footer=True,
    )
    table.add_column("layer", footer="total", overflow="fold")
    table.add_column("type")
    columns = (
        ("forward MACs", n(cost.forward_macs)),
        ("input-grad MACs", n(cost.backward_input_macs)),
        ("weight-grad MACs", n(cost.backward_weight_macs)),
        ("saved", size(cost.saved_bytes)),
        ("params", size(cost.param_bytes)),
    )
    for header, footer in columns:
        table.add_column(header, footer=footer, justify="right", no_wrap=True)
    for x in cost.layers:
        table.add_row(
            x.label,
            x.type,
            n(x.forward_macs),
            n(x.backward_input_macs),
            n(x.backward_weight_macs),
            size(x.saved_bytes),
            size(x.param_bytes),
            style="" if x.forward_macs or x.backward_macs or x.saved_bytes else "dim",
        )
    return table


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


def training_renderable(cost: TrainingCost, fit: Fit | None = None) -> Group:
    """The per-layer table, the totals, and the fit when asked."""
    items = [training_table(cost), memory_lines(cost)]
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
        title=f"{d.model}: training step, {o.optimizer.value}, {o.precision.value}"
        + (f", frozen {' '.join(o.freeze)}" if o.freeze else "")
        + " (MACs; bytes)",
        caption="; ".join(where),
        caption_justify="left",
    )
    table.add_column("quantity", no_wrap=True)
    table.add_column("formula", overflow="fold")
    for q in TRAINING_QUANTITIES:
        table.add_row(q, t.form(q))
    items = [table]
    for r in d.restrictions:
        items.append(Text(f"holds for {r.text()} ({r.name}: {r.why})", style="yellow"))
    return Group(*items)
