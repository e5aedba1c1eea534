"""`archcount derive TARGET`: each total's closed form, derived from the hooks alone."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from archcount.cli.options import (
    Arg,
    ConventionOpt,
    Debug,
    DtypeOpt,
    Fix,
    Freeze,
    Json,
    OptimizerOpt,
    Output,
    SymbolicShape,
    Target,
    TrainingFlag,
    parse_fix,
    parse_symbolic_shape,
    prints_to_stderr,
    show,
    user_errors,
)
from archcount.records import Convention
from archcount.training.options import Optimizer, Precision

Vars = Annotated[
    str | None,
    typer.Option(
        "--vars",
        metavar="NAMES",
        help="Variables to derive in, comma-separated (default: every symbol the model "
        "declares, e.g. NIC,NF,NC,k,S); any constructor argument or input-size name works.",
    ),
]


class Quantity(str, Enum):
    """What derive finds closed forms of."""

    COUNTS = "counts"
    RECEPTIVE_FIELD = "receptive_field"


QuantityOpt = Annotated[
    Quantity,
    typer.Option(
        "--quantity",
        help="counts: weights, outputs and connections; receptive_field: the output's "
        "largest and smallest receptive field and its jump, per residue class of the variables.",
    ),
]


def derive_command(
    target: Target,
    vars_: Vars = None,
    fix: Fix = None,
    arg: Arg = None,
    input_shape: SymbolicShape = None,
    convention: ConventionOpt = Convention.UNITS,
    quantity: QuantityOpt = Quantity.COUNTS,
    per_layer: Annotated[
        bool, typer.Option("--per-layer", help="Also derive every layer's closed forms.")
    ] = False,
    training: TrainingFlag = False,
    optimizer: OptimizerOpt = Optimizer.ADAM,
    dtype: DtypeOpt = Precision.FP32,
    freeze: Freeze = None,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Draw each total over one variable to FILE.png or FILE.svg: the closed form "
            "as a curve, the hooks' counts (a forward per value) as points.",
        ),
    ] = None,
    plot_over: Annotated[
        str | None,
        typer.Option(
            "--plot-over",
            metavar="NAME[=A..B]",
            help="The variable of --plot (default: the first) and its range (default: the "
            "range the derivation probed), e.g. k=2..9.",
        ),
    ] = None,
    json_out: Json = False,
    output: Output = None,
    debug: Debug = False,
) -> None:
    """Derive each total's closed form from the hooks alone (and where it holds).

    [dim]archcount derive models.ConvTransposeNet --fix S=32 --per-layer[/]
    [dim]archcount derive mymodels.Net --vars width --input-shape 4,16[/]
    [dim]archcount derive models.PoolUpsampleNet --training --vars B,S[/]  (B: the batch)
    """
    with user_errors(debug):
        from archcount.cli.output import check_writable
        from archcount.render.plot import FORMATS

        check_writable(plot, "--plot", tuple(FORMATS))  # before the derivation, as --output
        if plot and training:
            from archcount.errors import InputError

            raise InputError("--plot draws the counting totals: leave out --training")
        from archcount.front.space import derive_target, sampled
        from archcount.front.target import parse_args
        from archcount.records import Options
        from archcount.render.formulas import derivation_renderable

        names = None if vars_ is None else [n.strip() for n in vars_.split(",") if n.strip()]
        check_writable(output)
        fixed = parse_fix(fix or [])
        forms = fields = None
        with prints_to_stderr(json_out):
            model = sampled(target, parse_args(arg or []), parse_symbolic_shape(input_shape))
            if quantity is Quantity.RECEPTIVE_FIELD:
                from archcount.front.space import derive_fields_target

                fields = derive_fields_target(model, names, fixed, per_layer)
            elif training:
                from archcount.front.training import derive_training_target
                from archcount.training.options import TrainingOptions

                opts = TrainingOptions(1, optimizer, dtype, tuple(freeze or ()))
                forms = derive_training_target(model, names, fixed, opts)
            else:
                derivation, declared = derive_target(model, names, fixed, Options(convention))
        if fields is not None:
            from archcount.render.receptive import field_derivation_renderable

            renderable = field_derivation_renderable(fields, per_layer)
            show(renderable, fields.to_dict(per_layer), json_out, output)
            return
        if forms is not None:
            from archcount.render.training import training_forms_renderable

            show(training_forms_renderable(forms), forms.to_dict(), json_out, output)
            return
        data = derivation.to_dict(per_layer) | ({"declared": declared} if declared else {})
        if plot:
            _plot(plot, plot_over, model, derivation)
        show(derivation_renderable(derivation, per_layer, declared), data, json_out, output)


def _plot(path: str, over: str | None, model, derivation) -> None:
    """Each total over one variable, drawn to `path` (written atomically)."""
    from archcount.errors import DerivationError
    from archcount.files import write_atomic
    from archcount.front.series import parse_over, series
    from archcount.render.plot import chart_format, series_chart

    if not derivation.variables:
        raise DerivationError("--plot needs a variable to draw over: give --vars")
    name, span = parse_over(over) if over else (derivation.variables[0].name, None)
    chart = series_chart(series(model, derivation, name, span), chart_format(path))
    write_atomic(path, chart, "--plot")
