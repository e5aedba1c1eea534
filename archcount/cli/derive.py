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
    FormsOutput,
    Freeze,
    Json,
    OptimizerOpt,
    Size,
    SymbolicShape,
    Target,
    TrainingFlag,
    bounded,
    constructor_args,
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


PerLayer = Annotated[
    bool, typer.Option("--per-layer", help="Also derive every layer's closed forms.")
]

Plot = Annotated[
    str | None,
    typer.Option(
        "--plot",
        metavar="FILE",
        help="Draw each total over one variable to FILE.png or FILE.svg: the closed form "
        "as a curve, the hooks' counts (a forward per value) as points.",
    ),
]

PlotOver = Annotated[
    str | None,
    typer.Option(
        "--plot-over",
        metavar="NAME[=A..B]",
        help="The variable of --plot (default: the first) and its range (default: the "
        "range the derivation probed), e.g. k=2..9.",
    ),
]


def derive_command(
    target: Target,
    vars_: Vars = None,
    fix: Fix = None,
    size: Size = None,
    arg: Arg = None,
    input_shape: SymbolicShape = None,
    convention: ConventionOpt = Convention.UNITS,
    quantity: QuantityOpt = Quantity.COUNTS,
    per_layer: PerLayer = False,
    training: TrainingFlag = False,
    optimizer: OptimizerOpt = Optimizer.ADAM,
    dtype: DtypeOpt = Precision.FP32,
    freeze: Freeze = None,
    plot: Plot = None,
    plot_over: PlotOver = None,
    json_out: Json = False,
    output: FormsOutput = None,
    debug: Debug = False,
) -> None:
    """Derive each total's closed form from the hooks alone (and where it holds).

    Input sizes --fix leaves out (S) are held at --size, as `check` holds them, else derived in.

    [dim]archcount derive models.ConvTransposeNet --size 32 --per-layer[/]
    [dim]archcount derive mymodels.Net --vars width --input-shape 4,16[/]
    [dim]archcount derive models.PoolUpsampleNet --training --vars B,S[/]  (B: the batch)
    """
    with user_errors(debug):
        from archcount.cli.output import check_writable
        from archcount.front.space import sampled
        from archcount.render.plot import FORMATS

        check_writable(plot, "--plot", tuple(FORMATS))  # before the derivation, as --output
        if plot and training:
            from archcount.errors import InputError

            raise InputError("--plot draws the counting totals: leave out --training")
        names = None if vars_ is None else [n.strip() for n in vars_.split(",") if n.strip()]
        check_writable(output)
        fixed = parse_fix(fix or [])
        derivation = None
        with prints_to_stderr(json_out):
            model = sampled(target, constructor_args(arg), parse_symbolic_shape(input_shape))
            fixed = held_at_size(model, fixed, size, names)
            if quantity is Quantity.RECEPTIVE_FIELD:
                renderable, data = _fields(model, names, fixed, per_layer)
            elif training:
                renderable, data = _training(model, names, fixed, (optimizer, dtype, freeze))
            else:
                renderable, data, derivation = _counts(model, names, fixed, convention, per_layer)
        if plot and derivation is not None:
            _plot(plot, plot_over, model, derivation)
        show(renderable, data, json_out, output)


def held_at_size(model, fixed: dict[str, int], size: int | None, names) -> dict[str, int]:
    """--fix's values, and each input size it leaves out held at --size, as `check` holds them."""
    if size is None:
        return fixed
    from archcount.errors import InputError

    if size < 1:
        raise InputError(f"--size {size}: an input size is a whole number >= 1")
    sizes = [s for s in model.sizes if s not in fixed]
    clash = [s for s in sizes if s in (names or ())]
    if clash:
        raise InputError(f"--size holds {clash[0]}, which --vars derives in: give one of them")
    return fixed | {s: bounded("--size", size) for s in sizes}


def _fields(model, names, fixed, per_layer: bool):
    """--quantity receptive_field: (renderable, JSON data) of the field's closed forms."""
    from archcount.front.space import derive_fields_target
    from archcount.render.receptive import field_derivation_renderable

    fields = derive_fields_target(model, names, fixed, per_layer)
    return field_derivation_renderable(fields, per_layer), fields.to_dict(per_layer)


def _training(model, names, fixed, training):
    """--training: (renderable, JSON data) of one step's closed forms; the batch is B."""
    from archcount.front.training import derive_training_target
    from archcount.render.training import training_forms_renderable
    from archcount.training.options import TrainingOptions

    optimizer, dtype, freeze = training
    opts = TrainingOptions(1, optimizer, dtype, tuple(freeze or ()))
    forms = derive_training_target(model, names, fixed, opts)
    return training_forms_renderable(forms), forms.to_dict()


def _counts(model, names, fixed, convention, per_layer: bool):
    """The counts' closed forms: (renderable, JSON data, the derivation --plot draws)."""
    from archcount.front.space import derive_target
    from archcount.records import Options
    from archcount.render.formulas import derivation_renderable

    derivation, declared = derive_target(model, names, fixed, Options(convention))
    data = derivation.to_dict(per_layer) | ({"declared": declared} if declared else {})
    return derivation_renderable(derivation, per_layer, declared), data, derivation


def _plot(path: str, over: str | None, model, derivation) -> None:
    """Each total over one variable, drawn to `path` (written atomically)."""
    from archcount.cli.output import written
    from archcount.errors import DerivationError
    from archcount.front.series import parse_over, series
    from archcount.render.plot import chart_format, series_chart

    if not derivation.variables:
        raise DerivationError("--plot needs a variable to draw over: give --vars")
    name, span = parse_over(over) if over else (derivation.variables[0].name, None)
    chart = series_chart(series(model, derivation, name, span), chart_format(path))
    written(path, chart, "--plot")
