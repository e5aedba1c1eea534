"""Report rows -> the module tree: each module's subtotals, runs of identical blocks as one node.

Pure data (records in, records out). A row belongs to the module of its name; a row that is
no module's own (a functional op, 'owner: aten.op' or 'owner (aten.op ×2)') is a leaf under
the module its name starts with, else under the model. Every node's totals are the Totals of
the rows below it, so children add up to their parent exactly, and depth-1 nodes to the total.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from archcount.records import LayerCount, Report, Totals

_OWNER = re.compile(r"[^:\s]*")  # a module name holds no ':' or space; an op row's name does


@dataclass(frozen=True)
class Node:
    """A module (or a run of `repeat` identical consecutive blocks) and the rows below it."""

    name: str  # dotted module name ('layer1.0'), 'blocks.0–11' for a run, the model's at the root
    type: str
    depth: int  # 0 the model, 1 its children
    rows: tuple[Any, ...]  # every row below (a Report's, or another pass's), of every block
    children: tuple[Node, ...] = ()
    repeat: int = 1

    @property
    def totals(self) -> Totals:
        """The Totals of every row below this node (of a Report's tree)."""
        return Totals.of(self.rows)

    @property
    def label(self) -> str:
        """'layer1.0', or 'blocks.0–11 ×12' for a run."""
        return self.name if self.repeat == 1 else f"{self.name} ×{self.repeat}"

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """{"name", "type", "depth", "repeat", "totals", "children"}, children down to `depth`."""
        deeper = depth is None or self.depth < depth
        return {
            "name": self.name,
            "type": self.type,
            "depth": self.depth,
            "repeat": self.repeat,
            "totals": self.totals.to_dict(),
            "children": [c.to_dict(depth) for c in self.children] if deeper else [],
        }


def module_types(named_modules: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """{name: class name} from `model.named_modules()` ('' is the model itself)."""
    return {name: type(m).__name__ for name, m in named_modules}


def module_tree(report: Report, types: Mapping[str, str]) -> Node:
    """The model's module tree; `types` maps every module name ('' the model) to its class."""
    return row_tree(report.layers, types, report.model)


def row_tree(rows: Iterable[Any], types: Mapping[str, str], model: str) -> Node:
    """The module tree of any pass's rows (each with a `label` and `type`; a `name` and an
    `owner` where it has them), placed as a Report's rows are."""
    root = _Trie("", types.get("", model))
    for row in rows:
        path, leaf = _place(row, types)
        node = root
        for i in range(1, len(path) + 1):
            name = ".".join(path[:i])
            node = node.child(name, types.get(name, ""))
        if leaf is not None:
            node = node.child(leaf, row.type)
        node.rows.append(row)
    return replace(root.frozen(0), name=model)


def report_counts(rows: Sequence[LayerCount]) -> tuple:
    """What makes two blocks' Report rows count the same (their Totals)."""
    t = Totals.of(rows)
    counts = (t.trainable_weights, t.frozen_weights, t.outputs, t.connections)
    return (*counts, t.connections_exact, bool(t.unknown))


def collapsed(node: Node, counts: Callable[[Sequence[Any]], Hashable] = report_counts) -> Node:
    """`node` with each run of consecutive numbered blocks of one signature merged into one;
    `counts` of a block's rows is what must be equal besides its type and children."""
    runs: list[list[Node]] = []
    for child in (collapsed(c, counts) for c in node.children):
        if runs and _continues(runs[-1], child, counts):
            runs[-1].append(child)
        else:
            runs.append([child])
    return replace(node, children=tuple(_merged(run) for run in runs))


def visible(node: Node, depth: int) -> list[Node]:
    """The nodes shown down to `depth`, each parent before its children (the root left out)."""
    out: list[Node] = []
    for child in node.children:
        out.append(child)
        if child.depth < depth:
            out += visible(child, depth)
    return out


def height(node: Node) -> int:
    """The depth of the deepest node below `node` (its own when it has no children)."""
    return max((height(c) for c in node.children), default=node.depth)


class _Trie:
    """A node while rows are placed; frozen into a Node once every row is in."""

    def __init__(self, name: str, type_: str) -> None:
        self.name, self.type = name, type_
        self.rows: list[LayerCount] = []
        self.children: dict[str, _Trie] = {}

    def child(self, name: str, type_: str) -> _Trie:
        if name not in self.children:
            self.children[name] = _Trie(name, type_)
        return self.children[name]

    def frozen(self, depth: int) -> Node:
        kids = [c.frozen(depth + 1) for c in self.children.values()]
        rows = (*self.rows, *(r for k in kids for r in k.rows))
        if self.rows and kids:  # its own row beside its children's: shown as a child too
            own = Node(f"{self.name} (own)", self.rows[0].type, depth + 1, tuple(self.rows))
            kids.insert(0, own)
        return Node(self.name, self.type, depth, rows, tuple(kids))


def _place(row: Any, types: Mapping[str, str]) -> tuple[list[str], str | None]:
    """(the owner module's path, the leaf's name when the row is no module's own row).

    A row that names its owner (LayerCount.owner, where the engine records one) is placed by
    it; otherwise by its name: a module's own, or the module name an op row's name starts with.
    """
    owner = getattr(row, "owner", None)
    name = getattr(row, "name", row.label)  # a training pass's rows have only their label
    if owner is None:
        if name and name in types:
            return name.split("."), None
        owner = _OWNER.match(name).group(0)
    return (owner.split(".") if owner and owner in types else []), row.label


def _index(node: Node) -> tuple[str, int] | None:
    """('blocks', 3) for 'blocks.3'; None when the last part of the name is not a number."""
    prefix, _, last = node.name.rpartition(".")
    return (prefix, int(last)) if last.isascii() and last.isdigit() else None


def _continues(run: Sequence[Node], node: Node, counts: Callable) -> bool:
    """True when `node` is the block numbered after `run`'s last, identical to its first."""
    a, b = _index(run[-1]), _index(node)
    if a is None or b is None or a[0] != b[0] or b[1] != a[1] + 1:
        return False
    return _signature(run[0], counts) == _signature(node, counts)


def _signature(node: Node, counts: Callable) -> tuple:
    """Type, counts and children (names relative to the node's) of a block: equal = identical."""
    kids = tuple((c.name.removeprefix(node.name), _signature(c, counts)) for c in node.children)
    return node.type, counts(node.rows), node.repeat, kids


def _merged(run: Sequence[Node]) -> Node:
    """One node for a run of identical blocks ('blocks.0–11', repeat 12); itself if alone."""
    if len(run) == 1:
        return run[0]
    prefix, first = _index(run[0])
    _, last = _index(run[-1])
    name = f"{prefix}.{first}–{last}" if prefix else f"{first}–{last}"
    return _joined(run, name)


def _joined(blocks: Sequence[Node], name: str) -> Node:
    """`blocks` (identical in shape) as one node called `name`; children joined alike."""
    head = blocks[0]
    children = tuple(
        _joined([b.children[i] for b in blocks], name + c.name.removeprefix(head.name))
        for i, c in enumerate(head.children)
    )
    rows = tuple(r for b in blocks for r in b.rows)
    return Node(name, head.type, head.depth, rows, children, head.repeat * len(blocks))
