"""The same renderables as the terminal, as Markdown, HTML or SVG text, or the JSON data.

The format follows a file suffix (.md, .html/.htm, .svg, .json, .csv); anything else is an
error. A .csv holds a count's rows (one per layer, then the totals), from the JSON data. An
.html is a page of real tables (render/html: a count's sortable and collapsible); an .svg is
a picture of the terminal's output.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from archcount.errors import InputError
from archcount.records import flat_rows

SUFFIXES = (".md", ".html", ".htm", ".svg", ".json", ".csv")
WIDTH = 140  # recorded consoles are not terminals: a fixed width keeps files reproducible


def exported(suffix: str, renderable: Any, data: dict[str, Any]) -> str:
    """`renderable` (or `data` for .json) as the text of a file with `suffix`."""
    suffix = suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"use one of {', '.join(SUFFIXES)}")
    if suffix == ".json":
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    if suffix == ".csv":
        return csv_text(data)
    if suffix == ".md":
        return markdown(renderable)
    if suffix in (".html", ".htm"):
        from archcount.render.html import page  # its page assets are read only when asked

        return page(renderable, data)
    console = Console(record=True, width=WIDTH, file=_Null(), force_terminal=True)
    console.print(renderable)
    return console.export_svg()


def csv_text(data: dict[str, Any]) -> str:
    """One row per layer, then a 'total' row; unknown counts are empty cells."""
    if "layers" not in data or "totals" not in data:
        raise InputError(".csv holds a count's layers: write it from `archcount TARGET`")
    rows = flat_rows(data)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def markdown(renderable: Any) -> str:
    """Tables as GitHub Markdown tables, text as paragraphs."""
    items = renderable.renderables if isinstance(renderable, Group) else [renderable]
    blocks = []
    for item in items:
        if isinstance(item, Group):
            blocks.append(markdown(item).rstrip("\n"))
        elif isinstance(item, Table):
            blocks.append(markdown_table(item))
        else:
            text = _plain(item)
            if text.strip():
                blocks.append(text)
    return "\n\n".join(blocks) + "\n"


def markdown_table(table: Table) -> str:
    """A rich Table's title, header, rows, footer and caption in Markdown."""
    columns = table.columns
    header = [_cell(c.header) for c in columns]
    rows = [[_cell(cell) for cell in c.cells] for c in columns]
    lines = [f"**{_plain(table.title)}**", ""] if table.title else []
    align = ["---:" if c.justify == "right" else "---" for c in columns]
    lines += [_row(header), _row(align)]
    lines += [_row(list(r)) for r in zip(*rows)]
    if table.show_footer:
        lines.append(_row([f"**{_cell(c.footer)}**" if _cell(c.footer) else "" for c in columns]))
    if table.caption:
        lines += ["", f"_{_plain(table.caption)}_"]
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(value: Any) -> str:
    return _plain(value).replace("|", "\\|").replace("\n", "<br>")


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        return value.plain
    return str(value)  # plain strings: our tables hold no markup


class _Null:
    """A file that swallows writes: the recorded console must not print to the terminal."""

    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
