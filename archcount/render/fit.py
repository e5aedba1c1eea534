"""Tables that fit the console they are printed on: lighter rules, then fewer columns, then
labels shortened in the middle of their dotted path, each still naming one row only.

Counts are never touched: a clipped number is a wrong number. A label no unique short form
fits is folded onto more lines, never cut.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import replace

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

_LABEL = re.compile(r"( *)(\S+)(.*)", re.S)  # indentation, dotted path, the rest ('(call 2)')
_NATURAL = 100_000  # a width no table reaches: what it measures unsqueezed


class FitTable(Table):
    """A Table that, wider than the console, loses its vertical rules, then its `droppable`
    columns (by header, in order), then shortens the labels of its first column."""

    def __init__(self, *args, droppable: Sequence[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.droppable = tuple(droppable)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return Table.__rich_console__(self.fitted(console, options), console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Table.__rich_measure__(self.fitted(console, options), console, options)

    def fitted(self, console: Console, options: ConsoleOptions) -> Table:
        """This table as it fits options.max_width: itself when it fits as it is."""
        width = options.max_width

        def excess(t: Table) -> int:
            return natural_width(console, options, t) - width

        if excess(self) <= 0:
            return self
        table = copy(self)
        # a rule under the header, two spaces between columns: most borders' width saved
        table.box, table.show_edge, table.pad_edge = box.SIMPLE_HEAD, False, False
        table.padding = (0, 0, 0, 1)
        dropped = []
        for header in self.droppable:  # until every label fits, shortened where it must be
            if excess(table) <= 0 or _labels_fit(table, excess(table)):
                break
            table.columns = _reindexed(c for c in table.columns if c.header != header)
            dropped.append(header)
        notes = [_dropped_note(dropped, width)] if dropped else []
        if excess(table) > 0 and _shorten_labels(table, _budget(table, excess(table))):
            notes.append("… stands for parts of a dotted name left out to fit")
        if notes:
            table.caption = _noted(table.caption, "; ".join(notes))
        return table


def _dropped_note(dropped: Sequence[str], width: int) -> str:
    """'type and params columns left out to fit 80 columns'."""
    which = " and ".join([", ".join(dropped[:-1]), dropped[-1]] if dropped[1:] else dropped)
    return f"{which} column{'s' if dropped[1:] else ''} left out to fit {width} columns"


def _shorten_labels(table: Table, budget: int) -> bool:
    """Shorten `table`'s (a copy's) labels to `budget`; False when none needed it."""
    label, cells = table.columns[0], _labels(table)
    short = shortened(cells, budget)
    if short == cells:
        return False
    styled = [_like(c, s) for c, s in zip(label.cells, short)]
    table.columns = _reindexed([replace(label, _cells=styled), *table.columns[1:]])
    return True


def _labels_fit(table: Table, excess: int) -> bool:
    """True when every label of the first column, shortened, fits once the table does."""
    budget = _budget(table, excess)
    return all(cell_len(x) <= budget for x in shortened(_labels(table), budget))


def _labels(table: Table) -> list[str]:
    return [_plain(c) for c in table.columns[0].cells]


def _budget(table: Table, excess: int) -> int:
    """The widest label the first column can hold once the table fits."""
    return max(map(cell_len, _labels(table)), default=0) - excess


def natural_width(console: Console, options: ConsoleOptions, table: Table) -> int:
    """The columns `table` takes with no cell wrapped."""
    return Table.__rich_measure__(table, console, options.update_width(_NATURAL)).maximum


def shortened(labels: Sequence[str], budget: int) -> list[str]:
    """Each label within `budget`, else a short form of it (a run of its dotted path as '…')
    no other label has: the longest within `budget`, else the shortest; one that keeps the
    path's first part where there is one; else the label itself."""
    forms = [_forms(x) for x in labels]
    taken = Counter(f.strip() for x, fs in zip(labels, forms) for f in {*fs, x})
    out = []
    for label, options in zip(labels, forms):
        mine = [f for f in options if taken[f.strip()] == 1]  # a form no other label has
        fits = [f for f in mine if cell_len(f) <= budget]
        headed = [f for f in fits if not f.lstrip().startswith("…")]
        if cell_len(label) <= budget or not mine:
            out.append(label)
        else:
            rest = [f for f in mine if not f.lstrip().startswith("…")] or mine
            out.append(max(headed or fits, key=len) if fits else min(rest, key=len))
    return out


def _forms(label: str) -> list[str]:
    """Every form of `label` with a run of its dotted path's parts as '…', shorter than it;
    the indentation, the path's last part and what follows ('(call 2)') kept."""
    match = _LABEL.fullmatch(label)
    if match is None:
        return []
    indent, path, rest = match.groups()
    parts = path.split(".")
    forms = (
        f"{indent}{'.'.join(parts[:i])}…{'.'.join(parts[j:])}{rest}"
        for i in range(len(parts) - 1)
        for j in range(i + 1, len(parts))
    )
    return [f for f in forms if len(f) < len(label)]


def _reindexed(columns: Iterable[Column]) -> list[Column]:
    """Columns renumbered in their new order (rich pads and aligns a column by its index)."""
    return [replace(c, _index=i) for i, c in enumerate(columns)]


def _plain(cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _like(cell, text: str) -> Text:
    """`text` in `cell`'s style (a Text: never read as markup)."""
    return Text(text, style=cell.style) if isinstance(cell, Text) else Text(text)


def _noted(caption, note: str) -> Text:
    """The caption with `note` on a line of its own."""
    if not caption:
        return Text(note, style="table.caption")
    head = caption if isinstance(caption, Text) else Text(str(caption), style="table.caption")
    return Text.assemble(head, "\n", (note, "table.caption"))
