"""The module tree -> a table of subtotals down to a depth; pure: prints nothing itself."""

from __future__ import annotations

from rich.table import Table

from archcount.records import Report
from archcount.render.report import caption
from archcount.render.text import n
from archcount.render.tree import Node, visible


def modules_table(report: Report, root: Node, depth: int) -> Table:
    """A row per module down to `depth`, indented under its parent, then the totals row."""
    t = report.totals
    runs = any(x.repeat > 1 for x in visible(root, depth))
    notes = [
        f"modules to depth {depth}: each row is the subtotal of the rows indented under it",
        "depth-1 rows add up to the total",
    ]
    if runs:
        notes.append(
            "a row 'x.0–11 ×12' is 12 identical consecutive blocks together (--expand: each)"
        )
    table = Table(
        title=f"{report.model}: modules",
        caption="; ".join(notes) + "\n" + caption(report),
        show_footer=True,
        caption_justify="left",
    )
    unknown = " + ?" if t.unknown else ""
    table.add_column("module", footer="total", no_wrap=True)  # a name cut in two misleads
    table.add_column("type", overflow="fold")
    for header, footer in (
        ("weights", n(t.weights)),
        ("outputs", n(t.outputs)),
        ("connections", n(t.connections) + unknown),
        ("exact", n(t.connections_exact) + unknown),
    ):
        table.add_column(
            header, footer=footer, justify="right", no_wrap=True, min_width=len(footer)
        )
    for node in visible(root, depth):
        s = node.totals
        q = " + ?" if s.unknown else ""
        parent = bool(node.children) and node.depth < depth
        table.add_row(
            "  " * (node.depth - 1) + node.label,
            node.type,
            n(s.weights),
            n(s.outputs),
            n(s.connections) + q,
            n(s.connections_exact) + q,
            style="bold" if parent else "",
        )
    return table
