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
    table = Table(
        title=Text(f"{d.model}: closed forms"), caption=Text(_where(d)), caption_justify="left"
    )
    table.add_column("quantity", no_wrap=True)
    table.add_column("formula", overflow="fold")
    if declared:
        table.add_column("declared", justify="center", no_wrap=True)
    for q in QUANTITIES:
        mark = ("✓" if declared[q] else "✗") if q in (declared or {}) else "n/a"
        extra = [Text(mark, MARK_STYLE[mark])] if declared else []
        table.add_row(q, Text(d.show(d.total(q))), *extra)
    return table


def layers_table(d: Derivation) -> Table:
    """One row per layer: the closed form of each quantity."""
    table = Table(title="per layer", title_justify="left")
    for header in ("layer", "type", *QUANTITIES):
        table.add_column(header, overflow="fold")
    for f in d.layers[0]:
        forms = [Text(d.show(d.expr(f.polys[q]))) for q in QUANTITIES]
        table.add_row(Text(f.info.label), Text(f.info.type), *forms)
    return table


def derivation_renderable(
    d: Derivation, per_layer: bool = False, declared: Mapping[str, bool] | None = None
) -> Group:
    """The totals' closed forms, the restrictions, and optionally every layer's."""
    items = [derivation_table(d, declared), restrictions_text(d)]
    return Group(*items, layers_table(d)) if per_layer else Group(*items)


def check_table(d: Derivation, verdicts: Sequence[Verdict]) -> Table:
    """Yours, the derived truth, ✓/✗ and what accounts for a difference."""
    table = Table(
        title=Text(f"{d.model}: your formulas"), caption=Text(_where(d)), caption_justify="left"
    )
    for header in ("quantity", "yours", "derived", "", "difference"):
        table.add_column(header, overflow="fold")
    for v in verdicts:
        mark = "✓" if v.ok else "✗"
        table.add_row(
            v.quantity,
            Text(v.show(v.expected)),
            Text(v.show(v.truth)),
            Text(mark, MARK_STYLE[mark]),
            Text("" if v.ok else v.explanation()),  # layer names are the user's: no markup
        )
    return table


MAX_ROWS = 40  # a compact table: past this, the rows a story changes and the first others


def layers_compared(d: Derivation, verdicts: Sequence[Verdict]) -> Table | None:
    """Per layer, each wrong quantity's derived value, and yours where one story is known:
    the rows it changes marked ✗. None when every formula is right."""
    wrong = [v for v in verdicts if not v.ok]
    if not wrong:
        return None
    table = Table(title="per layer: derived (the hooks)", title_justify="left")
    for header in ("layer", "type"):
        table.add_column(header, overflow="fold")
    changed: dict[str, dict[str, object]] = {}
    for v in wrong:
        table.add_column(v.quantity, justify="right", overflow="fold")
        if v.known:
            table.add_column(f"yours ({v.quantity})", justify="right", overflow="fold")
            changed[v.quantity] = dict(v.known.rows)
    if changed:
        table.add_column("", no_wrap=True)
    rows = [f for f in d.layers[0] if _shown(f, wrong, changed)]
    marked = [f for f in rows if any(f.info.label in c for c in changed.values())]
    room = MAX_ROWS - len(marked)  # past MAX_ROWS: every marked row, then the first others
    kept = [f for i, f in enumerate(rows) if len(rows) <= MAX_ROWS or f in marked or i < room]
    for f in kept:
        cells = [Text(f.info.label), Text(f.info.type)]  # the user's names: no markup
        for v in wrong:
            cells.append(Text(_value(d, f.polys[v.quantity])))
            if v.known:
                mine = changed[v.quantity].get(f.info.label)
                cells.append(Text("" if mine is None else _value(d, mine)))
        if changed:
            cells.append(Text("✗", MARK_STYLE["✗"]) if f in marked else "")
        table.add_row(*cells)
    if len(kept) < len(rows):
        table.caption = f"{len(rows) - len(kept)} more layers not shown"
    return table


def _shown(f, wrong: Sequence[Verdict], changed) -> bool:
    """A row with a count in a wrong quantity, or one a known story changes."""
    return any(f.polys[v.quantity] for v in wrong) or any(
        f.info.label in c for c in changed.values()
    )


def _value(d: Derivation, poly) -> str:
    """A row's value: its closed form, or at a point the number with thousands separators."""
    if d.variables:
        return d.show(d.expr(poly))
    value = sum(poly.values())
    return f"{int(value):,}" if value == int(value) else str(value)


def check_renderable(d: Derivation, verdicts: Sequence[Verdict]) -> Group:
    """The comparison table, the restrictions, and the per-layer values when one is wrong."""
    items = [check_table(d, verdicts), restrictions_text(d, [v.quantity for v in verdicts])]
    layers = layers_compared(d, verdicts)
    return Group(*items, layers) if layers is not None else Group(*items)
