"""`count --time`: the time view computed, merged into the JSON and shown after the count."""

from __future__ import annotations

from typing import Any


def timed(request, hardware: str, training: bool, data: dict[str, Any], shown, depth, asked):
    """The time view added to the JSON `data` (subtotals to the depth `asked` for, as the
    count's modules); the renderable `shown` with it after, to the count's `depth`."""
    from rich.console import Group

    from archcount.front.timed import add_time, time_request
    from archcount.render.time import time_renderable

    report = time_request(request, hardware, training)
    add_time(data, report, asked)
    return Group(shown, time_renderable(report, depth))
