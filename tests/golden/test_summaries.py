"""Golden screens: `archcount hf:gpt2`, `archcount hf:llama` and `archcount hf:llama --training`
as a 100-column terminal shows them (no colour), compared with the files beside this one.

Any change to what these screens show fails here, the numbers as much as the layout. After a
change you mean, regenerate the files and read their diff before committing it:

    PYTHONPATH=. python tests/golden/test_summaries.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from archcount.front.counted import count_request
from archcount.front.request import CountRequest
from archcount.render.report import counted_renderable
from archcount.render.summary import SCREEN_ROWS, summary
from archcount.render.training import training_counts
from archcount.render.tree import visible
from archcount.training.options import TrainingOptions

HERE = Path(__file__).parent
WIDTH = 100
# name -> (TARGET, --training); counted on meta, which gives CPU's numbers (SPEC: every
# device gives the same counts) without allocating 7 billion weights
SCREENS = {
    "gpt2": ("hf:gpt2", False),
    "llama": ("hf:llama", False),
    "llama-training": ("hf:llama", True),
}


def screen(name: str) -> tuple[str, list[int]]:
    """What `archcount TARGET [--training]` prints at WIDTH columns; its tables' rows."""
    target, training = SCREENS[name]
    counted = count_request(
        CountRequest(target=target, device="meta"),
        training=TrainingOptions(batch=1) if training else None,
    )
    shown = summary(counted.report, counted.module_types, None)
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, force_terminal=False, color_system=None)
    console.print(counted_renderable(counted, summary=shown))
    assert shown.chosen, "a summary: the per-layer table is longer than a screen"
    rows = [len(visible(shown.root, shown.depth))]
    if training:
        tree = shown.tree(counted.training.layers, training_counts)
        rows.append(len(visible(tree, shown.depth_of(tree))))
    return out.getvalue(), rows


@pytest.mark.parametrize("name", SCREENS)
def test_screen_is_unchanged(name):
    pytest.importorskip("transformers")
    text, rows = screen(name)
    assert max(rows) <= SCREEN_ROWS
    assert all(len(line) <= WIDTH for line in text.splitlines())
    expected = (HERE / f"{name}.txt").read_text(encoding="utf-8")
    assert text == expected, f"{name}: the screen changed; see this file's docstring"


if __name__ == "__main__":  # regenerate the golden files
    for key in sys.argv[1:] or SCREENS:
        (HERE / f"{key}.txt").write_text(screen(key)[0], encoding="utf-8")
        print(f"wrote {HERE / key}.txt")
