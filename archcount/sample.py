"""One sample point for derivation: build on meta, one hooked forward, rows under several options.

The forward is what costs; rows under another convention or without biases are cheap, so
each point is counted once and its rows reused for every total, layer and variant.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from archcount.closed_form import QUANTITIES
from archcount.errors import ArchcountError
from archcount.records import Kind, Options, Report
from archcount.rules import RULES
from archcount.target import build_model
from archcount.walk import counted_modules, report_of, run_hooked


@dataclass(frozen=True)
class LayerInfo:
    """What identifies a layer across sample points: its label, type and kind."""

    label: str
    type: str
    kind: Kind


def count_point(
    factory: Callable[..., Any],
    kwargs: Mapping[str, Any],
    size: Sequence[int],
    variants: Sequence[Options],
) -> list[Report]:
    """Reports of factory(**kwargs) on an input of `size` (batch 1), one per option variant."""
    model = _built(factory, kwargs)
    args = (torch.zeros(tuple(size), device="meta"),)
    targets = counted_modules(model, RULES)
    with warnings.catch_warnings():  # torch's padding='same' notes repeat at every point
        warnings.simplefilter("ignore", UserWarning)
        calls = run_hooked(model, args, targets)
    return [
        report_of(
            model,
            calls,
            targets,
            RULES,
            options,
            batch=size[0],
            name="",
            params=kwargs,
            input_shape=tuple(size),
        )
        for options in variants
    ]


_last: list = [None, None]  # (key, model): grid points that differ only in S share one build


def _built(factory, kwargs: Mapping[str, Any]):
    """factory(**kwargs) on meta, reusing the previous build for the same arguments."""
    key = (factory, tuple(sorted(kwargs.items())))
    if _last[0] != key:
        _last[:] = [key, build_model(factory, kwargs, "meta")]
    return _last[1]


def values_of(reports: Sequence[Report]) -> dict[tuple[int, str, str], int]:
    """(variant, layer label or '' for the total, quantity) -> count; unknowns are skipped."""
    out: dict[tuple[int, str, str], int] = {}
    for v, report in enumerate(reports):
        for q in QUANTITIES:
            out[(v, "", q)] = getattr(report.totals, q)
        for row in report.layers:
            for q in QUANTITIES:
                value = getattr(row, q)
                if value is not None:
                    key = (v, row.label, q)
                    out[key] = out.get(key, 0) + value
    return out


def layer_infos(report: Report) -> tuple[LayerInfo, ...]:
    """The layers of a report, in order, de-duplicated by label."""
    seen: dict[str, LayerInfo] = {}
    for row in report.layers:
        seen.setdefault(row.label, LayerInfo(row.label, row.type, row.kind))
    return tuple(seen.values())


def try_point(factory, kwargs, size, variants) -> list[Report] | str:
    """count_point, or the one-line reason this point cannot be counted."""
    try:
        return count_point(factory, kwargs, size, variants)
    except ArchcountError as exc:
        return str(exc)
