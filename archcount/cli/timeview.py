"""`count --time`: the time view merged into the JSON and shown after the count."""

from __future__ import annotations

from typing import Any


def timed(report, data: dict[str, Any], shown, summary, asked):
    """The time `report` added to the JSON `data` (subtotals to the depth `asked` for, as the
    count's modules); the renderable `shown` with it after, to the count's depth (`summary`)."""
    from rich.console import Group

    from archcount.front.timed import add_time
    from archcount.render.time import time_renderable

    add_time(data, report, asked)
    return Group(shown, time_renderable(report, _depth(report, summary)))


def _depth(report, summary) -> int | None:
    """The count's depth; where it was chosen to fit a screen, less while the time rows (not
    merged into runs of blocks) would still be more than a screen."""
    from archcount.render.summary import SCREEN_ROWS

    depth = summary.depth
    if depth is None or not summary.chosen:
        return depth
    while depth > 1 and len(report.subtotals(depth)) > SCREEN_ROWS:
        depth -= 1
    return depth
