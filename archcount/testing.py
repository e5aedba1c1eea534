"""pytest helpers for users' own models; also a pytest plugin (entry point `pytest11`).

    from archcount.testing import assert_counts, assert_declared

    def test_net():
        assert_counts(Net(), (1, 3, 32, 32), weights=50_304, connections=55_951_360)
        assert_declared(Net, grid={"NF": [8, 16], "k": [3, 5]})

A failure names the layers that account for each difference, as `archcount check` does.
Nothing heavy is imported here until a helper runs: pytest loads this module in every session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import product
from typing import Any

QUANTITIES = ("weights", "outputs", "connections", "connections_exact")
MAX_POINTS_SHOWN = 3
TABLE_WIDTH = 110  # the per-layer table in a failure message, as pytest shows it


def assert_counts(
    model: Any,
    input_size: Sequence[int] | None = None,
    *,
    example_input: Any = None,
    weights: int | None = None,
    outputs: int | None = None,
    connections: int | None = None,
    connections_exact: int | None = None,
    convention: str = "units",
    include_bias: bool = True,
    include_norm: bool = True,
    rules: Mapping | None = None,
):
    """Count `model` (per example) and fail unless each total given equals the hooks' count.

    Returns the Report. `input_size` includes the batch, e.g. (1, 3, 32, 32).
    """
    __tracebackhide__ = True
    from archcount.engine.walk import prepare
    from archcount.formulas.derive import variants_of
    from archcount.recording import record
    from archcount.records import Convention, Options

    given = dict(
        weights=weights,
        outputs=outputs,
        connections=connections,
        connections_exact=connections_exact,
    )
    expected = {q: v for q, v in given.items() if v is not None}
    if not expected:
        raise TypeError(
            "assert_counts needs weights=, outputs=, connections= or connections_exact="
        )
    options = Options(Convention(convention), include_bias, include_norm)
    prepared = prepare(model, input_size, example_input, rules=rules)
    name = type(model).__name__
    recording = record(prepared, name)
    reports = [recording.report(o) for o in variants_of(options)]
    wrong = _differences(name, reports, expected)
    if wrong:
        where = f"{name} on {_shape(reports[0].input_shape)} ({options.convention.value})"
        raise AssertionError(f"{where}: the hooks count otherwise\n" + "\n".join(wrong))
    return reports[0]


def assert_declared(
    model_factory: Callable[..., Any],
    grid: Mapping[str, Iterable[int]],
    *,
    args: Mapping[str, Any] | None = None,
    input_shape: Sequence[int | str] | None = None,
    convention: str = "units",
) -> int:
    """Fail unless the model's declared formulas equal the hooks at every point of `grid`.

    `grid` maps a declared symbol (NF, S) or a constructor argument's name to its values;
    `args` holds other constructor arguments; `input_shape` (per example, names allowed,
    e.g. (4, "L")) replaces the declared input. Returns how many formula values were checked.
    """
    __tracebackhide__ = True
    from archcount.formulas.declared import declared_formulas
    from archcount.front.space import sampled
    from archcount.records import Convention, Options

    options = Options(Convention(convention))
    model = sampled(model_factory, args, tuple(input_shape) if input_shape else None)
    if not declared_formulas(model.cls, options):
        raise AssertionError(
            f"{model.name} declares no formulas under `{convention}`: give its class a "
            "formulas(convention) classmethod and formula_symbols (see archcount.Formula)"
        )
    checked, failures, quantities = 0, [], set()
    for values in _points(model, grid):
        n, wrong, which = _check_point(model, values, options)
        checked += n
        quantities |= which
        if wrong:
            failures.append((values, wrong))
    if failures:
        lines = [
            f"{model.name}: declared formulas differ from the hooks at {len(failures)} of "
            f"{_size(grid)} grid points"
        ]
        for values, wrong in failures[:MAX_POINTS_SHOWN]:
            lines.append("at " + ", ".join(f"{k}={v}" for k, v in values.items()))
            lines += wrong
        raise AssertionError("\n".join(lines + _in_symbols(model, options, quantities)))
    if not checked:
        raise AssertionError(f"{model.name}: no declared formula applies anywhere on the grid")
    return checked


def _points(model, grid: Mapping[str, Iterable[int]]) -> list[dict[str, int]]:
    """Every grid point as symbol values; a constructor argument's name means its symbol."""
    from archcount.errors import InputError

    alias = {arg: sym for sym, arg in model.declared.params.items()}
    names = [alias.get(k, k) for k in grid]
    for name, key in zip(names, grid):
        if name not in model.known:
            raise InputError(
                f"grid key {key!r} is neither a declared symbol nor a constructor argument "
                f"(known: {', '.join(model.known)})"
            )
    return [dict(zip(names, point)) for point in product(*(list(v) for v in grid.values()))]


def _in_symbols(model, options, quantities: set[str]) -> list[str]:
    """Each wrong declared formula against the forms derived in the model's symbols, explained
    as `archcount check` explains it (a point's difference is one number; this is a formula)."""
    from archcount.errors import ArchcountError
    from archcount.formulas.declared import declared_formulas
    from archcount.front.space import check_target

    wrong = [f for f in declared_formulas(model.cls, options) if f.quantity in quantities]
    try:
        _, verdicts = check_target(model, [f"{f.quantity}={f.source}" for f in wrong], {}, options)
    except ArchcountError as exc:  # a model whose counts are no polynomial in its symbols
        return [f"in the symbols: not derived ({exc})"]
    return [f"in the symbols: {v.quantity}: {v.explanation()}" for v in verdicts if not v.ok]


def _check_point(model, values: dict[str, int], options) -> tuple[int, list[str], set[str]]:
    """(formula values checked, a line per wrong one, the wrong quantities) at one point."""
    from archcount.engine.build import arguments
    from archcount.formulas.declared import check_declared
    from archcount.formulas.derive import variants_of
    from archcount.formulas.sample import count_point
    from archcount.front.space import SIZE_BASE

    defaults = model.space.symbols.defaults
    full = {s: defaults.get(s, SIZE_BASE) for s in model.sizes} | values
    kwargs, size = model.space.call(full)
    reports = count_point(model.space.factory, kwargs, size, variants_of(options))
    checks = check_declared(model.cls, arguments(model.space.factory, kwargs), reports[0])
    wrong = {c.quantity: c.value for c in checks if c.status == "✗"}
    shown = {c.quantity: c.formula for c in checks}
    lines = _differences(model.name, reports, wrong, shown)
    return sum(c.value is not None for c in checks), lines, set(wrong)


def _differences(
    name: str, reports, expected: Mapping[str, Any], formulas: Mapping[str, str] | None = None
) -> list[str]:
    """A line per quantity whose count differs from `expected`, with what accounts for it,
    then the per-layer counts (yours beside them where one story is known)."""
    from archcount.formulas.pointwise import point_derivation, verdict_at

    wrong = {q: v for q, v in expected.items() if getattr(reports[0].totals, q) != v}
    if not wrong:
        return []
    derivation = point_derivation(name, reports)
    verdicts = [verdict_at(derivation, q, value) for q, value in wrong.items()]
    lines = []
    for v, (q, value) in zip(verdicts, wrong.items()):
        what = f"{formulas[q]} = {_n(value)}" if formulas else _n(value)
        counted = _n(getattr(reports[0].totals, q))
        lines.append(f"  {q}: expected {what}, hooks count {counted}; {v.explanation()}")
    return lines + _table(derivation, verdicts)


def _table(derivation, verdicts) -> list[str]:
    """The per-layer table as plain text lines, indented under the message."""
    import io

    from rich.console import Console

    from archcount.render.formulas import layers_compared

    out = io.StringIO()
    console = Console(file=out, width=TABLE_WIDTH, color_system=None, force_terminal=False)
    console.print(layers_compared(derivation, verdicts))
    return ["  " + line.rstrip() for line in out.getvalue().splitlines()]


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _shape(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape))


def _size(grid: Mapping[str, Iterable[int]]) -> int:
    total = 1
    for values in grid.values():
        total *= len(list(values))
    return total


def pytest_report_header(config) -> str:
    """Say in the session header that the plugin is active."""
    from archcount import __version__

    return f"archcount {__version__}: assert_counts, assert_declared (archcount.testing)"
