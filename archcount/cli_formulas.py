"""`archcount derive` and `archcount check`, and the declared formulas under `archcount TARGET`.

Top-level imports stay light (typer only): sympy and torch are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from archcount.cli import (
    ConventionOpt,
    Debug,
    Json,
    Size,
    Target,
    echo_json,
    echo_rich,
    user_errors,
)
from archcount.records import Convention

Output = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Also write the tables to FILE: .md, .html, .svg (as shown) or .json.",
    ),
]
Fix = Annotated[
    list[str] | None,
    typer.Option(
        "--fix",
        metavar="NAME=VALUE",
        help="Hold a variable at a value, e.g. --fix S=32 or --fix NIC=3; repeatable.",
    ),
]
Vars = Annotated[
    str | None,
    typer.Option(
        "--vars",
        metavar="NAMES",
        help="Variables to derive in, comma-separated (default: NIC,NF,NC,k where the "
        "constructor takes them, and S); any constructor argument name works.",
    ),
]


def derive_command(
    target: Target,
    vars_: Vars = None,
    fix: Fix = None,
    convention: ConventionOpt = Convention.UNITS,
    per_layer: Annotated[
        bool, typer.Option("--per-layer", help="Also derive every layer's closed forms.")
    ] = False,
    json_out: Json = False,
    output: Output = None,
    debug: Debug = False,
) -> None:
    """Derive each total's closed form from the hooks alone (and where it holds).

    [dim]archcount derive models.ConvTransposeNet --fix S=32 --per-layer[/]
    """
    with user_errors(debug):
        derivation = _derive(target, _names(vars_), parse_fix(fix or []), convention)
        from archcount.declared import agreement
        from archcount.render_formulas import derivation_renderable
        from archcount.target import load_target

        declared = agreement(load_target(target), derivation)
        data = derivation.to_dict(per_layer) | ({"declared": declared} if declared else {})
        renderable = derivation_renderable(derivation, per_layer, declared)
        _show(renderable, data, json_out, output)


def check_command(
    target: Target,
    expect: Annotated[
        list[str],
        typer.Option(
            "--expect",
            "-e",
            metavar="QUANTITY=FORMULA",
            help="Your formula, e.g. 'outputs=2880*NF + 3328*NC'; repeatable. Quantities: "
            "weights, outputs, connections, connections_exact.",
        ),
    ],
    size: Size = None,
    fix: Fix = None,
    convention: ConventionOpt = Convention.UNITS,
    json_out: Json = False,
    output: Output = None,
    debug: Debug = False,
) -> None:
    """Check your closed forms against the derived truth: ✓, or what accounts for a difference.

    Exit code 0 when every formula is right, 1 when one is wrong, 2 when one does not parse.
    Without --size, S is held at 32 unless your formulas use it.

    [dim]archcount check models.PoolUpsampleNet --expect "outputs=2880*NF + 3328*NC"[/]
    """
    with user_errors(debug):
        from archcount.explain import compare
        from archcount.formulas import SYMBOLS, parse_expectation
        from archcount.render_formulas import check_renderable

        fixed = parse_fix(fix or [])
        expected = [parse_expectation(text, SYMBOLS) for text in expect]
        uses_s = any(SYMBOLS["S"] in e.free_symbols for _, e in expected)
        if size is not None or not uses_s:
            fixed.setdefault("S", size if size is not None else 32)
        derivation = _derive(target, None, fixed, convention)
        verdicts = [compare(derivation, q, e) for q, e in expected]
        data = derivation.to_dict() | {
            "checks": [v.to_dict(derivation.gens) for v in verdicts],
            "ok": all(v.ok for v in verdicts),
        }
        _show(check_renderable(derivation, verdicts), data, json_out, output)
    if not all(v.ok for v in verdicts):
        raise typer.Exit(1)


def show_count(report: Any, target: str, json_out: bool, output: str | None) -> None:
    """The main command's output: the report, then the model's declared formulas, ✓/✗."""
    from rich.console import Group

    from archcount.declared import check_declared
    from archcount.render import declared_table
    from archcount.target import load_target

    checks = check_declared(load_target(target), report)
    data = report.to_dict()
    renderable = report.__rich__()
    if checks:
        data["formulas"] = [c.to_dict() for c in checks]
        renderable = Group(renderable, declared_table(checks))
    _show(renderable, data, json_out, output)


def parse_fix(pairs: list[str]) -> dict[str, int]:
    """['S=32', 'NIC=3'] -> {'S': 32, 'NIC': 3}."""
    from archcount.errors import InputError

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier() or not value.strip().lstrip("-").isdigit():
            raise InputError(f"--fix wants NAME=INTEGER, e.g. S=32, got {pair!r}")
        out[name.strip()] = int(value)
    return out


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _derive(target: str, names, fixed: dict[str, int], convention: Convention):
    from archcount.derive import derive, plan
    from archcount.records import Options
    from archcount.target import load_target

    factory = load_target(target)
    variables, fixed = plan(factory, names, fixed)
    return derive(factory, target, variables, fixed, Options(convention))


def _show(renderable: Any, data: dict, json_out: bool, output: str | None) -> None:
    if output:
        from archcount.export import write_output

        write_output(output, renderable, data)
    echo_json(data) if json_out else echo_rich(renderable)
