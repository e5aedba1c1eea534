"""`archcount derive TARGET`: each total's closed form, derived from the hooks alone."""

from __future__ import annotations

from typing import Annotated

import typer

from archcount.cli.options import (
    Arg,
    ConventionOpt,
    Debug,
    Fix,
    Json,
    Output,
    SymbolicShape,
    Target,
    parse_fix,
    parse_symbolic_shape,
    prints_to_stderr,
    show,
    user_errors,
)
from archcount.records import Convention

Vars = Annotated[
    str | None,
    typer.Option(
        "--vars",
        metavar="NAMES",
        help="Variables to derive in, comma-separated (default: every symbol the model "
        "declares, e.g. NIC,NF,NC,k,S); any constructor argument or input-size name works.",
    ),
]


def derive_command(
    target: Target,
    vars_: Vars = None,
    fix: Fix = None,
    arg: Arg = None,
    input_shape: SymbolicShape = None,
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
    [dim]archcount derive mymodels.Net --vars width --input-shape 4,16[/]
    """
    with user_errors(debug):
        from archcount.cli.output import check_writable
        from archcount.front.space import derive_target, sampled
        from archcount.front.target import parse_args
        from archcount.records import Options
        from archcount.render.formulas import derivation_renderable

        names = None if vars_ is None else [n.strip() for n in vars_.split(",") if n.strip()]
        check_writable(output)
        fixed = parse_fix(fix or [])
        with prints_to_stderr(json_out):
            model = sampled(target, parse_args(arg or []), parse_symbolic_shape(input_shape))
            derivation, declared = derive_target(model, names, fixed, Options(convention))

        data = derivation.to_dict(per_layer) | ({"declared": declared} if declared else {})
        show(derivation_renderable(derivation, per_layer, declared), data, json_out, output)
