"""The module tree -> a table of subtotals down to a depth; pure: prints nothing itself."""

from __future__ import annotations

from rich.table import Table

from archcount.records import Report
from archcount.render.fit import FitTable
from archcount.render.text import caption, literal, n, title
from archcount.render.tree import Node, visible


def modules_table(report: Report, root: Node, depth: int, note: str | None = None) -> Table:
    """A row per module down to `depth`, indented under its parent, then the totals row;
    `note` (how to see every row) first in the caption."""
    t = report.totals
    runs = any(x.repeat > 1 for x in visible(root, depth))
    notes = [
        f"modules to depth {depth}: each row is the subtotal of the rows indented under it",
        "depth-1 rows add up to the total",
    ]
    if runs:
        notes.append(
            "a row 'x.0–11 ×12' is 12 identical consecutive blocks together, the rows under "
            "it their sums (--expand: each block)"
        )
    table = FitTable(
        title=title(f"{report.model}: modules"),
        caption="\n".join([*([note] if note else []), "; ".join(notes), caption(report)]),
        show_footer=True,
        caption_justify="left",
        droppable=("type",),
    )
    unknown = " + ?" if t.unknown else ""
    table.add_column("module", footer="total", overflow="fold")  # folded, never cut
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
    for node, label in tree_rows(root, depth):
        s = node.totals
        q = " + ?" if s.unknown else ""
        parent = bool(node.children) and node.depth < depth
        table.add_row(
            literal(label),
            literal(node.type),
            n(s.weights),
            n(s.outputs),
            n(s.connections) + q,
            n(s.connections_exact) + q,
            style="bold" if parent else "",
        )
    return table


def tree_rows(root: Node, depth: int) -> list[tuple[Node, str]]:
    """Each node shown down to `depth` with its label, indented two spaces a level; '×N'
    where a run of N blocks starts, not on the rows under it (their N blocks' sums)."""
    rows, repeat = [], {0: root.repeat}  # the repeat of the last node seen at each depth
    for node in visible(root, depth):
        starts = node.repeat != repeat[node.depth - 1]
        repeat[node.depth] = node.repeat
        rows.append((node, "  " * (node.depth - 1) + (node.label if starts else node.name)))
    return rows
