"""TimeReport -> rich renderables; pure: prints nothing itself."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.render.text import n
from archcount.render.training import size
from archcount.roofline.predict import Cost, TimeRow
from archcount.roofline.report import TimeReport


def seconds(s: float | None) -> str:
    """'12.3 µs', '4.56 ms', '1.20 s'; '?' when unknown."""
    if s is None:
        return "?"
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if s >= scale:
            return f"{s / scale:,.2f} {unit}"
    return f"{s * 1e6:,.2f} µs"


def _cells(c: Cost) -> list[str]:
    intensity = "" if c.intensity is None else f"{c.intensity:,.2f}"
    bound = "" if c.bound is None else c.bound.value
    return [size(c.bytes_read), size(c.bytes_written), n(c.macs), intensity, bound,
            seconds(c.predicted_s)]  # fmt: skip


def time_table(report: TimeReport, rows: list[TimeRow] | None = None) -> Table:
    """A row per time row (or per module given): bytes, MACs, intensity, bound, predicted time."""
    table = Table(
        title=f"predicted time at batch {report.batch}"
        + (", forward and backward" if report.training else ", forward"),
        caption="whole batch; bytes: each storage an op reads or writes, once per op; "
        "intensity: MACs/byte; predicted: Σ max((MACs + h)/π, bytes touched/β) + τ per op",
        caption_justify="left",
        show_footer=True,
    )
    table.add_column("layer", footer="total", overflow="fold")
    heads = ("read", "written", "MACs", "MACs/B", "bound", "predicted")
    totals = _cells(report.forward)
    for head, foot in zip(heads, totals):
        table.add_column(head, footer=foot, justify="right", no_wrap=True)
    if report.backward is not None:
        table.add_column("bwd bound", footer=_cells(report.backward)[4], justify="right")
        table.add_column("bwd predicted", footer=_cells(report.backward)[5], justify="right")
    for r in report.rows if rows is None else rows:
        cells = _cells(r.forward)
        if r.backward is not None:
            cells += _cells(r.backward)[4:]
        table.add_row(Text(r.label), *cells, style="" if r.forward.ops else "dim")
    return table


def time_renderable(report: TimeReport, depth: int | None = None) -> Group:
    """The table (per module at `depth` when given) and the line saying what it assumes."""
    rows = None if depth is None else report.subtotals(depth)
    style = "yellow" if report.hardware is None else ""
    return Group(time_table(report, rows), Text(report.assumes, style=style))
