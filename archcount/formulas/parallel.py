"""Map a function over many sample points on every core: forked workers, serial fallback."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

MIN_PER_WORKER = 16  # below this a fork costs more than it saves

_job: Callable[[Any], Any] | None = None  # set before forking: workers inherit it, no pickling


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _run(item: Any) -> Any:
    assert _job is not None
    return _job(item)


def parallel_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """[fn(x) for x in items], split over forked workers when there are enough items."""
    global _job
    workers = min(cores(), len(items) // MIN_PER_WORKER)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(x) for x in items]
    _job = fn
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_run, items, chunksize=max(1, len(items) // (4 * workers)))
    finally:
        _job = None
