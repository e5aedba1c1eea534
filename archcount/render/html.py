"""A result as one self-contained HTML page: real tables, CSS and JS inline, no network.

A count's page is built from its JSON data (what --json prints): one table nested by module
path, whose parent rows carry their subtotals (render/tree: they add up exactly) and collapse,
sortable on the numbers themselves, with a bar per row for its share of the weights and of the
connections, the totals, the caption and the unknowns. The terminal's other tables follow as
plain <table>s; derive and check pages are those alone. Every string is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from itertools import count
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcount.records import (
    Convention,
    Kind,
    LayerCount,
    Options,
    Report,
    Source,
    Totals,
)
from archcount.render.report import caption
from archcount.render.text import n, shape
from archcount.render.tree import Node, module_tree

OPEN_ROWS = 60  # a count with more rows than this opens with only its depth-1 modules shown
_INTEGER = re.compile(r"-?\d{1,3}(,\d{3})*")  # how render/text.n writes a count


def page(renderable: Any, data: Mapping[str, Any]) -> str:
    """The whole document: a count's table in place of the renderable's first, other tables."""
    items = list(_items(renderable))
    if "layers" in data and "totals" in data:
        report = report_of(data)
        first = next((i for i, x in enumerate(items) if isinstance(x, Table)), None)
        blocks = [_block(x) for i, x in enumerate(items) if i != first]
        blocks.insert(0 if first is None else first, count_table(report, _types(data)))
        blocks.insert(1 if first is None else first + 1, _unknowns(report))
        title = f"{report.model} on {shape(report.input_shape)}"
    else:
        blocks = [_block(x) for x in items]
        title = next((_plain(x.title) for x in items if isinstance(x, Table) and x.title), "")
    return _document(title or "archcount", "\n".join(b for b in blocks if b))


def report_of(data: Mapping[str, Any]) -> Report:
    """The Report a count's JSON data was written from (its totals are recomputed alike)."""
    options = Options(Convention(data["convention"]), data["include_bias"], data["include_norm"])
    layers = tuple(_layer(x) for x in data["layers"])
    return Report(
        data["model"], dict(data["params"]), tuple(data["input_shape"]), options, layers,
        tuple(data.get("warnings", ())),
    )  # fmt: skip


def _layer(x: Mapping[str, Any]) -> LayerCount:
    """One row of the JSON data back as its LayerCount."""
    return LayerCount(
        name=x["name"],
        type=x["type"],
        kind=Kind(x["kind"]),
        call=x["call"],
        input_shape=None if x["input_shape"] is None else tuple(x["input_shape"]),
        output_shape=None if x["output_shape"] is None else tuple(x["output_shape"]),
        trainable_weights=x["trainable_weights"],
        frozen_weights=x["frozen_weights"],
        outputs=x["outputs"],
        connections=x["connections"],
        connections_exact=x["connections_exact"],
        source=Source(x["source"]),
        owner=x["owner"],
        ops=tuple((o["op"], o["calls"], o["connections"]) for o in x["ops"]),
        cache_copies=x["cache_copies"],
    )


def _types(data: Mapping[str, Any]) -> dict[str, str]:
    """{module name: class} as far as the data tells: a module's own row names it, and every
    dotted prefix of a module's name is a module too.

    An op row's owner is then a module when it is one of those (or owns a module that never
    ran); else it is the model's own code (named 'hf:gpt2' or its class), placed at the top. A
    container's class is known only from the --depth tree (`modules`), else it stays ''.
    """
    types = {"": data["model"]}
    for x in data["layers"]:
        own = x["owner"] if x["source"] == Source.NOT_RUN.value else x["name"]
        if x["owner"] is not None and x["source"] != Source.NOT_RUN.value:
            continue
        if not _is_module_name(own) or own == data["model"]:  # a leaf model's own row
            continue
        parts = own.split(".")
        for i in range(1, len(parts)):
            types.setdefault(".".join(parts[:i]), "")
        types[own] = x["type"] if own == x["name"] else types.get(own, "")
    for node in _walk(data.get("modules", ())):
        if node["repeat"] == 1 and node["name"] in types:
            types[node["name"]] = node["type"]
    return types


def _is_module_name(name: str) -> bool:
    return bool(name) and ":" not in name and " " not in name


def _walk(nodes: Any) -> Iterator[Mapping[str, Any]]:
    for node in nodes:
        yield node
        yield from _walk(node["children"])


@dataclass(frozen=True)
class _Context:
    """What every row of one count needs: the totals its bars are shares of, the convention
    that greys silent rows, and whether the table opens with every row shown."""

    total: Totals
    convention: Convention
    opened: bool


def count_table(report: Report, types: Mapping[str, str]) -> str:
    """The per-layer rows nested under their modules, each parent with its subtotals."""
    root = module_tree(report, types)
    ctx = _Context(report.totals, report.convention, len(report.layers) <= OPEN_ROWS)
    ids = count()
    rows = [r for node in root.children for r in _node_rows(node, ctx, "", ids)]
    head = "".join(
        f'<th data-sort="{kind}" aria-sort="none" title="sort">{label}</th>'
        for label, kind in _COLUMNS
    )
    return (
        f'<table id="count">\n<caption>{_caption(report)}{_TOOLS}</caption>\n'
        f"<thead><tr>{head}{_SHARE_HEAD}</tr></thead>\n"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n{_totals_row(report.totals)}\n</table>"
    )


_TOOLS = (
    '<span class="tools"><button type="button" data-all="open">expand all</button> '
    '<button type="button" data-all="close">collapse all</button> '
    '<label><input type="checkbox" id="flat"> layers only, no modules</label></span>'
)
_SHARE_HEAD = (
    '<th class="share">share of <span class="key w"></span>weights, '
    '<span class="key c"></span>connections</th>'
)
_COLUMNS = (
    ("layer", "text"),
    ("type", "text"),
    ("output", "text"),
    ("weights", "number"),
    ("outputs", "number"),
    ("connections", "number"),
    ("exact", "number"),
)


def _caption(report: Report) -> str:
    title = f"{report.model} on {shape(report.input_shape)}"
    return f"<strong>{escape(title)}</strong><br>{escape(caption(report))}"


def _node_rows(node: Node, ctx: _Context, parent: str, ids: Iterator[int]) -> list[str]:
    """`node`'s rows in tree order: a lone row as itself, else a parent row and those below.

    Opened, every row shows; else only the depth-1 ones, and every parent starts collapsed.
    """
    me = f"r{next(ids)}"
    if not node.children and len(node.rows) == 1:
        return [_tr(node, ctx, me, parent, _leaf_cells(node.rows[0]))]
    out = [_tr(node, ctx, me, parent, _group_cells(node))]
    kids = node.children or tuple(Node(r.label, r.type, node.depth + 1, (r,)) for r in node.rows)
    for child in kids:
        out += _node_rows(child, ctx, me, ids)
    return out


def _tr(node: Node, ctx: _Context, me: str, parent: str, cells: tuple) -> str:
    """One <tr>: its id, its parent's and its depth; a parent row has a toggle and its state."""
    name, type_, out, *counts = cells
    cls = _row_class(node, ctx.convention)
    group = cls == "group"
    toggle = (
        f'<button type="button" class="toggle" aria-expanded="{str(ctx.opened).lower()}" '
        f'aria-label="expand or collapse">{"▾" if ctx.opened else "▸"}</button>'
    )
    attrs = f' id="{me}" data-depth="{node.depth}" class="{cls}"'
    attrs += "" if group else f' data-kind="{node.rows[0].kind.value}"'
    attrs += f' data-parent="{parent}"' if parent else ""
    attrs += "" if ctx.opened or node.depth == 1 else " hidden"
    tds = [
        f'<td class="name" style="--depth:{node.depth}">{toggle if group else ""}'
        f"<span>{escape(name)}</span></td>",
        f"<td>{escape(type_)}</td>",
        f"<td>{escape(out)}</td>",
        *(_number(value, unknown) for value, unknown in counts),
        _bars(node.totals, ctx.total),
    ]
    return f"<tr{attrs}>{''.join(tds)}</tr>"


def _row_class(node: Node, convention: Convention) -> str:
    """'group' for a parent; a layer is 'unknown' without a rule, 'quiet' when it adds none."""
    if node.children or len(node.rows) != 1:
        return "group"
    row = node.rows[0]
    if row.kind is Kind.UNSUPPORTED:
        return "layer unknown"
    quiet = row.kind is Kind.CACHE or row.kind.silent_under(convention)
    return "layer quiet" if quiet else "layer"


def _leaf_cells(row: LayerCount) -> tuple:
    """label, type, output, then (value, unknown?) for weights, outputs, connections, exact."""
    kind = f"{row.type} (from ops)" if row.source is Source.OPS else row.type
    if row.kind is Kind.CACHE:  # its copies are in no column's total: said beside the type
        kind = f"{row.type} (cache: {n(row.cache_copies)} copies)"
    per_example = shape(row.output_shape[1:]) if row.output_shape else ""
    counts = (row.weights, row.outputs, row.connections, row.connections_exact)
    return (row.label, kind, per_example, *((v, v is None) for v in counts))


def _group_cells(node: Node) -> tuple:
    """label ('blocks.0' or the row's name for a module's several calls), type, subtotals."""
    t = node.totals
    counts = (t.weights, t.outputs, t.connections, t.connections_exact)
    flags = (False, False, bool(t.unknown), bool(t.unknown))
    return (node.label, node.type, "", *zip(counts, flags))


def _number(value: int | None, unknown: bool) -> str:
    """A count's cell: the number in `data-value` (what sorting reads), thousands-separated."""
    if value is None:
        return '<td class="n" data-value="">?</td>'
    text = n(value) + (" + ?" if unknown else "")
    return f'<td class="n" data-value="{value}">{text}</td>'


def _bars(part: Totals, whole: Totals) -> str:
    """Two bars: `part`'s share (percent) of the weights and of the nominal connections."""
    w = 100 * part.weights / whole.weights if whole.weights else 0.0
    c = 100 * part.connections / whole.connections if whole.connections else 0.0
    bars = "".join(
        f'<span class="bar {cls}" data-share="{share:.6g}" style="width:{share:.3f}%"></span>'
        for cls, share in (("w", w), ("c", c))
    )
    return f'<td class="share" title="{w:.1f}% of weights, {c:.1f}% of connections">{bars}</td>'


def _totals_row(t: Totals) -> str:
    """The <tfoot>: the totals, ' + ?' beside connections some rows leave unknown."""
    unknown = bool(t.unknown)
    cells = (
        (t.weights, False),
        (t.outputs, False),
        (t.connections, unknown),
        (t.connections_exact, unknown),
    )
    tds = "".join(_number(v, u) for v, u in cells)
    return f'<tfoot><tr><th class="name" colspan="3">total</th>{tds}<td></td></tr></tfoot>'


def _unknowns(report: Report) -> str:
    """The layers whose connections are unknown (in no total), or that there are none."""
    unknown = report.totals.unknown
    if not unknown:
        return '<p class="unknowns">connections unknown in: none</p>'
    names = ", ".join(f"<code>{escape(x)}</code>" for x in unknown)
    return (
        f'<p class="unknowns">connections unknown in {len(unknown)} '
        f"{'layer' if len(unknown) == 1 else 'layers'} (left out of every total): {names}</p>"
    )


def _items(renderable: Any) -> Iterator[Any]:
    """The tables and texts of a renderable, Groups opened, in order."""
    if renderable is None:
        return
    if isinstance(renderable, Group):
        for item in renderable.renderables:
            yield from _items(item)
    else:
        yield renderable


def _block(item: Any) -> str:
    """A rich Table as a <table>; text as a paragraph, its lines kept."""
    if isinstance(item, Table):
        return table_html(item)
    text = _plain(item)
    return f'<p class="text">{escape(text)}</p>' if text.strip() else ""


def table_html(table: Table) -> str:
    """A rich Table's title, header, rows and footer as a <table>; caption under it."""
    columns = table.columns
    right = [c.justify == "right" for c in columns]
    head = "".join(f"<th>{escape(_plain(c.header))}</th>" for c in columns)
    rows = [
        "<tr>" + "".join(_cell(_plain(v), r) for v, r in zip(cells, right)) + "</tr>"
        for cells in zip(*(c.cells for c in columns))
    ]
    foot = ""
    if table.show_footer:
        foot = "".join(f"<th>{escape(_plain(c.footer))}</th>" for c in columns)
        foot = f"<tfoot><tr>{foot}</tr></tfoot>"
    title = f"<caption>{escape(_plain(table.title))}</caption>" if table.title else ""
    note = f'<p class="note">{escape(_plain(table.caption))}</p>' if table.caption else ""
    body = "\n".join(rows)
    head = f"<thead><tr>{head}</tr></thead>"
    return f"<table>{title}{head}\n<tbody>{body}</tbody>{foot}</table>{note}"


def _cell(text: str, right: bool) -> str:
    """A cell; a thousands-separated integer also carries its value for sorting."""
    if _INTEGER.fullmatch(text):
        attrs = f' class="n" data-value="{text.replace(",", "")}"'
    else:
        attrs = ' class="n"' if right else ""
    return f"<td{attrs}>{escape(text)}</td>"


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        return value.plain
    return str(value)  # our tables hold plain strings, never markup


def _document(title: str, body: str) -> str:
    """The page: <head> with the inline style, the body, the inline script last."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n"
        f"<body>\n{body}\n<script>\n{_asset('report.js')}</script>\n</body>\n</html>\n"
    )


def _asset(name: str) -> str:
    """A file of render/static/, inlined: the page must open with no network."""
    return files("archcount.render").joinpath("static", name).read_text(encoding="utf-8")
