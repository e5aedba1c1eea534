"""`archcount check TARGET --expect Q=FORMULA`: your closed forms against the derived truth."""

from __future__ import annotations

from typing import Annotated

import typer

from archcount.cli.options import (
    Arg,
    ConventionOpt,
    Debug,
    Fix,
    FormsOutput,
    Json,
    Size,
    SymbolicShape,
    Target,
    constructor_args,
    parse_fix,
    parse_symbolic_shape,
    prints_to_stderr,
    show,
    user_errors,
)
from archcount.records import Convention

Expect = Annotated[
    list[str],
    typer.Option(
        "--expect",
        "-e",
        metavar="QUANTITY=FORMULA",
        help="Your formula, e.g. 'outputs=2880*NF + 3328*NC'; repeatable. Quantities: "
        "weights, outputs, connections, connections_exact. Written as on paper (12NF, k², "
        "k^2, NF·NC): numbers, the model's names and + - * / ^ ( ) only.",
    ),
]


def check_command(
    target: Target,
    expect: Expect,
    size: Size = None,
    fix: Fix = None,
    arg: Arg = None,
    input_shape: SymbolicShape = None,
    convention: ConventionOpt = Convention.UNITS,
    json_out: Json = False,
    output: FormsOutput = None,
    debug: Debug = False,
) -> None:
    """Check your closed forms against the derived truth: ✓, or what accounts for a difference.

    Exit code 0 when every formula is right, 1 when one is wrong, 2 when one does not parse.
    Input sizes your formulas do not use (S) are held at --size, else their default (32).

    [dim]archcount check models.PoolUpsampleNet --expect "outputs=2880*NF + 3328*NC"[/]
    """
    with user_errors(debug):
        from archcount.cli.output import check_writable
        from archcount.front.space import check_target, sampled
        from archcount.records import Options
        from archcount.render.formulas import check_renderable

        check_writable(output)
        fixed = parse_fix(fix or [])
        with prints_to_stderr(json_out):
            model = sampled(target, constructor_args(arg), parse_symbolic_shape(input_shape))
            derivation, verdicts = check_target(model, expect, fixed, Options(convention), size)
        data = derivation.to_dict() | {
            "checks": [v.to_dict() for v in verdicts],
            "ok": all(v.ok for v in verdicts),
        }
        show(check_renderable(derivation, verdicts), data, json_out, output)
    if not all(v.ok for v in verdicts):
        raise typer.Exit(1)
