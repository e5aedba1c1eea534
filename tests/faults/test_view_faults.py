"""Bad --depth values: one line, exit 2, before any count."""

from __future__ import annotations

import pytest

DEPTHS = [
    ("0", "--depth wants a whole number >= 1 or 'all', got '0'"),
    ("-1", "--depth wants a whole number >= 1 or 'all'"),
    ("two", "--depth wants a whole number >= 1 or 'all', got 'two'"),
    ("²", "--depth wants a whole number >= 1 or 'all'"),  # str.isdigit() says yes, int() no
    ("1.5", "--depth wants a whole number >= 1 or 'all'"),
    ("9" * 30, "--depth: 999999… (30 digits) does not fit"),  # past PyTorch's int64
    ("9" * 5000, "--depth wants a whole number"),  # past what int() reads
    ("[bold]all[/]", "got '[bold]all[/]'"),  # printed as written, never read as markup
]


@pytest.mark.parametrize(("depth", "says"), DEPTHS, ids=lambda v: str(v)[:20])
def test_bad_depths(ws, tiny, depth, says):
    ws.run(tiny, "--depth", depth, says=says)
