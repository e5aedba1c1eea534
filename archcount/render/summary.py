"""What every view shows: a row per layer call, or the module tree down to a depth, chosen
to fit a screen when none is asked for."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archcount.records import Report
from archcount.render.tree import Node, collapsed, height, module_tree, row_tree, visible

ALL = "all"  # --depth all: a row per layer call
SCREEN_ROWS = 60  # a default table longer than this shows modules instead of layers


@dataclass(frozen=True)
class Summary:
    """The count's module tree and the depth every view shows (None: a row per layer call)."""

    root: Node  # runs of identical blocks collapsed unless `expand`
    depth: int | None
    layers: int  # rows of the per-layer table
    types: Mapping[str, str] = field(default_factory=dict)  # module name -> class, '' the model
    expand: bool = False
    chosen: bool = False  # the depth was chosen to fit a screen

    @property
    def note(self) -> str | None:
        """How to see every row, when the depth was chosen for the user."""
        if not self.chosen:
            return None
        return (
            f"summary: modules to depth {self.depth} ({len(visible(self.root, self.depth))} rows "
            f"for {self.layers:,} layer calls); --depth all: a row per layer call; --depth N: "
            "another depth"
        )

    def tree(self, rows: Iterable[Any], counts: Callable[[Sequence[Any]], Hashable]) -> Node:
        """Another pass's rows (training, receptive) in the same tree, runs collapsed by
        `counts` unless expanded."""
        root = row_tree(rows, self.types, self.root.name)
        return root if self.expand else collapsed(root, counts)

    def depth_of(self, tree: Node) -> int:
        """The depth another pass's `tree` is shown to: this one, or less where that would
        be more than SCREEN_ROWS rows and the depth was chosen to fit a screen."""
        assert self.depth is not None, "a row per layer call has no depth"
        return min(self.depth, screen_depth(tree, SCREEN_ROWS)) if self.chosen else self.depth

    def drawn(self) -> list[Node] | None:
        """The modules a chart draws: those at the depth, and shallower ones with no
        children; None for a row per layer call."""
        if self.depth is None:
            return None
        shown = visible(self.root, self.depth)
        return [x for x in shown if x.depth == self.depth or not x.children]


def summary(
    report: Report, types: Mapping[str, str], depth: int | str | None, expand: bool = False
) -> Summary:
    """`depth` N, ALL (a row per layer call) or None: every layer call when they are at most
    SCREEN_ROWS rows, else the deepest module depth that is (depth 1 when none is)."""
    root = module_tree(report, types)
    root = root if expand else collapsed(root)
    rows = len(report.layers)
    if depth == ALL or (depth is None and rows <= SCREEN_ROWS):
        return Summary(root, None, rows, types, expand)
    if depth is not None:
        return Summary(root, int(depth), rows, types, expand)
    return Summary(root, screen_depth(root, SCREEN_ROWS), rows, types, expand, chosen=True)


def screen_depth(root: Node, limit: int) -> int:
    """The largest depth whose table has at most `limit` rows; 1 when even depth 1 has more."""
    depth = 1
    while depth < height(root) and len(visible(root, depth + 1)) <= limit:
        depth += 1
    return depth
