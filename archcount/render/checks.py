"""Cross-check and functional-op reports -> rich renderables; pure: prints nothing itself."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.render.text import n


def cross_check_renderable(check) -> Group:
    """A totals table (agree / differ, explained or not), then the per-layer lines."""
    table = Table(title="cross-check (per example)", caption_justify="left")
    for header in ("peer", "metric", "archcount", "as", "peer value", "verdict"):
        table.add_column(header, justify="right" if header.endswith("value") else "left")
    for c in check.checks:
        style = "red" if not c.explained else ("green" if c.agree else "")
        cells = (c.peer, c.metric, n(c.ours), c.quantity, n(c.theirs), c.verdict)
        table.add_row(*map(Text, cells), style=style)  # a verdict names layers: no markup
    items = [table]
    for c in check.checks:
        if (c.diffs and not c.agree) or not c.explained:
            items.append(_diff_table(c))
    items += [Text(f"skipped: {s}", style="yellow") for s in check.skipped]
    return Group(*items)


def _diff_table(c) -> Table:
    table = Table(
        title=Text(
            f"{c.peer} {c.metric} vs archcount {c.quantity}: "
            f"{n(c.ours)} recomputed under {c.peer}'s convention = {n(c.expected)}"
        ),
        caption=None if c.explained else f"{c.peer} reports {n(c.theirs)}: not explained",
        caption_justify="left",
    )
    for header in ("layer", "type", "archcount", c.peer + " conv.", c.peer + " says", "why"):
        right = header not in ("layer", "type", "why")
        table.add_column(header, justify="right" if right else "left", no_wrap=right)
    for d in c.diffs:
        style = "" if d.peer is None or d.peer == d.expected else "red"
        cells = (d.layer, d.type, n(d.ours), n(d.expected), n(d.peer), d.why)
        table.add_row(*map(Text, cells), style=style)  # the user's layer names: no markup
    return table


def functional_renderable(functional, added: bool) -> Group:
    """The ops no counted module covers: owner, op, calls, outputs, connections."""
    table = Table(
        title="functional ops outside counted modules (per example)",
        caption="in the totals" if added else "not in the totals (--functional adds them)",
        caption_justify="left",
    )
    for header in ("module", "op", "kind", "calls", "outputs", "connections"):
        right = header in ("calls", "outputs", "connections")
        table.add_column(header, justify="right" if right else "left", no_wrap=right)
    conv = functional.convention
    for x in functional.ops:  # element-wise ops show 0 under `units`, as activations do
        table.add_row(
            Text(x.owner),  # the user's module names: no markup
            Text(x.op),
            x.kind.value,
            str(x.calls),
            n(x.counted_outputs(conv)),
            n(x.counted_connections(conv)),
            style="yellow" if x.connections is None else "",
        )
    return Group(table)
