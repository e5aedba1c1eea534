"""Derivations, checks and declared formulas -> rich renderables; pure: prints nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.formulas.derived import Derivation
from archcount.formulas.explain import Verdict
from archcount.formulas.syntax import QUANTITIES
from archcount.render.text import MARK_STYLE


def _where(d: Derivation) -> str:
    parts = [f"variables {', '.join(v.name for v in d.variables) or 'none'}"]
    if d.fixed:
        parts.append("fixed " + ", ".join(f"{k}={v}" for k, v in d.fixed.items()))
    spans = ", ".join(f"{v.name} {a}–{b}" for v, (a, b) in zip(d.variables, d.spans))
    parts.append(f"confirmed on {spans}" if spans else "")
    parts.append(f"convention {d.options.convention.value}")
    parts.append(f"{d.samples} counts, {d.seconds:.1f} s")
    return "; ".join(p for p in parts if p)


def restrictions_text(d: Derivation, quantities: Sequence[str] = QUANTITIES) -> Text:
    """'holds for k odd (connections_exact)' and why, or that every value sampled works."""
    relevant = [r for r in d.restrictions if r.applies_to(quantities) or not r.totals]
    if not relevant:
        return Text("holds for every value of the variables sampled", style="dim")
    lines = []
    for r in relevant:
        which = [q for q in r.totals if q in quantities]
        lines.append(f"holds for {r.text()}" + (f" ({', '.join(which)})" if which else ""))
        lines.append(f"  {r.name}: over all values, {r.why}")
    return Text("\n".join(lines), style="yellow")


def derivation_table(d: Derivation, declared: Mapping[str, bool] | None = None) -> Table:
    """One row per total: its closed form, and ✓/✗ against the model's declared one."""
    table = Table(title=f"{d.model}: closed forms", caption=_where(d), caption_justify="left")
    table.add_column("quantity", no_wrap=True)
    table.add_column("formula", overflow="fold")
    if declared:
        table.add_column("declared", justify="center", no_wrap=True)
    for q in QUANTITIES:
        mark = ("✓" if declared[q] else "✗") if q in (declared or {}) else "n/a"
        extra = [Text(mark, MARK_STYLE[mark])] if declared else []
        table.add_row(q, d.show(d.total(q)), *extra)
    return table


def layers_table(d: Derivation) -> Table:
    """One row per layer: the closed form of each quantity."""
    table = Table(title="per layer", title_justify="left")
    for header in ("layer", "type", *QUANTITIES):
        table.add_column(header, overflow="fold")
    for f in d.layers[0]:
        forms = [d.show(d.expr(f.polys[q])) for q in QUANTITIES]
        table.add_row(f.info.label, f.info.type, *forms)
    return table


def derivation_renderable(
    d: Derivation, per_layer: bool = False, declared: Mapping[str, bool] | None = None
) -> Group:
    """The totals' closed forms, the restrictions, and optionally every layer's."""
    items = [derivation_table(d, declared), restrictions_text(d)]
    return Group(*items, layers_table(d)) if per_layer else Group(*items)


def check_table(d: Derivation, verdicts: Sequence[Verdict]) -> Table:
    """Yours, the derived truth, ✓/✗ and what accounts for a difference."""
    table = Table(title=f"{d.model}: your formulas", caption=_where(d), caption_justify="left")
    for header in ("quantity", "yours", "derived", "", "difference"):
        table.add_column(header, overflow="fold")
    for v in verdicts:
        mark = "✓" if v.ok else "✗"
        table.add_row(
            v.quantity,
            v.show(v.expected),
            v.show(v.truth),
            Text(mark, MARK_STYLE[mark]),
            "" if v.ok else v.explanation(),
        )
    return table


def check_renderable(d: Derivation, verdicts: Sequence[Verdict]) -> Group:
    """The comparison table and the restrictions under which the truth holds."""
    return Group(check_table(d, verdicts), restrictions_text(d, [v.quantity for v in verdicts]))
