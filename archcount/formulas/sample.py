"""One sample point for derivation: build on meta, one hooked forward, rows under several options.

The forward is what costs; rows under another convention or without biases are cheap, so
each point is counted once and its rows reused for every total, layer and variant.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any

from archcount.engine.build import arguments, build_model
from archcount.engine.walk import prepare
from archcount.errors import ArchcountError, InputError
from archcount.formulas.closed_form import Symbols
from archcount.formulas.syntax import QUANTITIES
from archcount.recording import record
from archcount.records import Kind, Options, Report

MAX_ELEMENTS = 2**61  # PyTorch counts a storage's bytes in an int64: 2^61 float32s at most


@dataclass(frozen=True)
class Space:
    """Where a derivation samples: a factory, its held arguments, its symbols and its input.

    `input` is the per-example input shape in symbols and integers (e.g. ("NIC", "S", "S")
    or (4, 16)); a symbol in `symbols.params` sets that constructor argument.
    """

    factory: Callable[..., Any]
    symbols: Symbols
    input: tuple[str | int, ...]
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def call(self, values: Mapping[str, int]) -> tuple[dict[str, Any], tuple[int, ...]]:
        """Constructor kwargs and input size (batch 1) at symbol values.

        An argument's symbol in the input that has no value here (NIC held) takes the
        argument's own value, given or default.
        """
        params = self.symbols.params
        kwargs = dict(self.arguments) | {params[n]: x for n, x in values.items() if n in params}
        every = arguments(self.factory, kwargs)
        size = [
            x if isinstance(x, int) else values[x] if x in values else every.get(params.get(x))
            for x in self.input
        ]
        return kwargs, (1, *size)


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
    if prod(size) > MAX_ELEMENTS:  # a held size (--fix S=2**62) past torch's int64 byte count
        shown = "x".join(map(str, size))
        raise InputError(f"input {shown} has {prod(size):.3g} elements: more than PyTorch can hold")
    prepared = prepare(_built(factory, kwargs), tuple(size))
    with warnings.catch_warnings():  # torch's padding='same' notes repeat at every point
        warnings.simplefilter("ignore", UserWarning)
        recording = record(prepared)
        return [recording.report(o, params=kwargs) for o in variants]


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
