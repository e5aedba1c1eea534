"""`archcount count TARGET` (also `archcount TARGET`): parse -> one library call -> render."""

from __future__ import annotations

from typing import Annotated

import typer

from archcount.cli.options import (
    Arg,
    ConventionOpt,
    Debug,
    DtypeOpt,
    Freeze,
    Height,
    Inputs,
    InputShape,
    Json,
    K,
    Nc,
    Nf,
    Nic,
    OptimizerOpt,
    Output,
    Size,
    Target,
    TrainingFlag,
    Width,
    bounded,
    constructor_args,
    homework_args,
    parse_shape,
    prints_to_stderr,
    show,
    user_errors,
)
from archcount.records import Convention
from archcount.training.options import Optimizer, Precision

Batch = Annotated[
    int,
    typer.Option(
        "--batch",
        help="Batch of the forward pass; counts are per example.",
        rich_help_panel="Input",
    ),
]

InputDtype = Annotated[
    str,
    typer.Option("--input-dtype", rich_help_panel="Input", help="float, or long for token ids."),
]

IgnoreBias = Annotated[
    bool,
    typer.Option(
        "--ignore-bias",
        help="Leave out the biases of conv/linear layers (a handout's variant).",
    ),
]

IgnoreNorm = Annotated[
    bool,
    typer.Option(
        "--ignore-norm", help="Leave out normalisation layers entirely (a handout's variant)."
    ),
]

CountDevice = Annotated[
    str,
    typer.Option(
        "--device",
        help="auto: a real CPU pass for small models, else meta; meta: no memory, no "
        "arithmetic, any size; cpu; cuda. Every device gives the same counts.",
    ),
]

Functional = Annotated[
    bool,
    typer.Option(
        "--functional/--no-functional",
        help="Arithmetic a module's own forward code runs outside its children (x + y, "
        "q @ k, SDPA, F.interpolate) is in the totals, on rows such as "
        "'h.0.attn (aten.bmm ×2)'; --no-functional leaves it out.",
    ),
]

CrossCheck = Annotated[
    bool,
    typer.Option(
        "--cross-check",
        help="Compare with torchinfo and fvcore (on a CPU copy) and FlopCounterMode (on "
        "meta), every difference explained.",
    ),
]

Depth = Annotated[
    str | None,
    typer.Option(
        "--depth",
        metavar="N|all",
        help="A row per module down to depth N with its subtotals (1: the model's "
        "children), in every table; runs of identical numbered blocks as one row "
        "'blocks.0–11 ×12'. all: a row per layer call. Default: all when that is at most 60 "
        "rows, else the deepest depth that is.",
        rich_help_panel="Views",
        show_default=False,
    ),
]

Expand = Annotated[
    bool,
    typer.Option(
        "--expand",
        help="With --depth: a row for every block, runs of identical ones not merged.",
        rich_help_panel="Views",
    ),
]

Fit = Annotated[
    str | None,
    typer.Option(
        "--fit",
        metavar="SIZE",
        help="The largest batch whose estimated peak fits SIZE (80GiB, 16GB, 512MiB); "
        "implies --training.",
        rich_help_panel="Training",
    ),
]

Plot = Annotated[
    str | None,
    typer.Option(
        "--plot",
        metavar="FILE",
        help="Draw weights, outputs and connections per row of the count's table (a layer, "
        "or a module where it shows modules) as bar charts to FILE.png or FILE.svg.",
        rich_help_panel="Views",
    ),
]

Log = Annotated[
    bool,
    typer.Option("--log", help="With --plot: log-scale count axes.", rich_help_panel="Views"),
]

ReceptiveField = Annotated[
    bool,
    typer.Option(
        "--receptive-field",
        help="Also each layer's receptive field per spatial dim: size (smallest–largest "
        "over output positions), jump and offset, followed through every path.",
        rich_help_panel="Views",
    ),
]

TimeFlag = Annotated[
    bool,
    typer.Option(
        "--time",
        help="Per layer: bytes read and written, MACs/byte, what binds (compute, memory, "
        "per-op overhead) and the predicted time (forward; with --training backward too).",
        rich_help_panel="Views",
    ),
]

Hardware = Annotated[
    str,
    typer.Option(
        "--hardware",
        metavar="NAME",
        help="With --time: auto (the calibration of the device counted on), cpu, cuda "
        "(archcount calibrate), or a spec-sheet preset: h100-sxm, h200-sxm, a100-sxm-80gb.",
        rich_help_panel="Views",
    ),
]


def count_command(
    target: Target,
    nic: Nic = None,
    nf: Nf = None,
    nc: Nc = None,
    k: K = None,
    size: Size = None,
    height: Height = None,
    width: Width = None,
    batch: Batch = 1,
    input_shape: InputShape = None,
    input_: Inputs = None,
    input_dtype: InputDtype = "float",
    arg: Arg = None,
    convention: ConventionOpt = Convention.UNITS,
    ignore_bias: IgnoreBias = False,
    ignore_norm: IgnoreNorm = False,
    device: CountDevice = "auto",
    functional: Functional = True,
    check: CrossCheck = False,
    depth: Depth = None,
    expand: Expand = False,
    training: TrainingFlag = False,
    optimizer: OptimizerOpt = Optimizer.ADAM,
    dtype: DtypeOpt = Precision.FP32,
    freeze: Freeze = None,
    fit: Fit = None,
    plot: Plot = None,
    log: Log = False,
    receptive_field: ReceptiveField = False,
    time: TimeFlag = False,
    hardware: Hardware = "auto",
    json_out: Json = False,
    output: Output = None,
    debug: Debug = False,
) -> None:
    """Count a model: a row per layer call, totals, and what could not be counted.

    TARGET is package.module.Class, package.module:factory, hf:MODEL_TYPE (a transformers
    model from its config's defaults, --arg sets config fields, never downloaded) or
    timm:NAME (pretrained=False).

    [dim]archcount models.ConvTransposeNet --nf 16 --size 64 --convention modules --json[/]
    [dim]archcount models.PoolUpsampleNet --training --batch 100 --fit 8GiB[/]
    [dim]archcount hf:gpt2 --input input_ids=1,1024:long --arg n_layer=2[/]
    """
    with user_errors(debug):
        from archcount.cli.output import check_writable
        from archcount.front.counted import count_request
        from archcount.records import Options
        from archcount.render.plot import FORMATS, chart_format
        from archcount.render.report import counted_renderable
        from archcount.render.summary import summary

        depth = parse_depth(depth)
        check_writable(plot, "--plot", tuple(FORMATS))  # before the count, as --output
        fmt = chart_format(plot) if plot else None
        request = _request(
            target, {"nic": nic, "nf": nf, "nc": nc, "k": k}, arg,
            (size if size is not None else height, size if size is not None else width),
            batch, input_shape, input_dtype, device,
            Options(convention, not ignore_bias, not ignore_norm, functional), input_,
        )  # fmt: skip
        cost, fit_bytes = _training(training, fit, batch, optimizer, dtype, freeze)
        check_writable(output)
        with prints_to_stderr(json_out):
            counted = count_request(
                request,
                check=check,
                training=cost,
                fit_bytes=fit_bytes,
                receptive=receptive_field,
                time=hardware if time else None,
            )
        shown = summary(counted.report, counted.module_types, depth, expand)
        data = _data(counted, shown, depth is not None)
        if plot:
            _plot(plot, fmt, counted.report, shown.drawn(), log)
        renderable = counted_renderable(counted, summary=shown)
        if counted.time is not None:  # --time: its pass ran on the count's build
            from archcount.cli.timeview import timed

            asked = shown.depth if depth is not None else None  # JSON: as _data's modules
            renderable = timed(counted.time, data, renderable, shown, asked)
        show(renderable, data, json_out, output)


def _request(target, homework, arg, size, batch, input_shape, input_dtype, device, options, inputs):
    """The CountRequest of the command line: one build, one forward of this input."""
    from archcount.front.inputs import parse_inputs
    from archcount.front.request import CountRequest

    return CountRequest(
        target=target,
        homework=homework_args(homework),
        args=constructor_args(arg),
        height=size[0],
        width=size[1],
        batch=batch,
        input_shape=parse_shape(input_shape),
        input_dtype=input_dtype,
        device=device,
        options=options,
        inputs=_inputs(parse_inputs(inputs)),
    )


def _inputs(specs):
    """The --input specs, each shape within what PyTorch can hold (not its OverflowError)."""
    from math import prod

    from archcount.errors import InputError

    for spec in specs:
        bounded(f"--input {spec.name}", spec.shape)
        if prod(spec.shape) > 2**61:  # PyTorch counts a storage's bytes in an int64
            shown = "x".join(map(str, spec.shape))
            raise InputError(f"--input {spec.name}: {shown} is more than PyTorch can hold")
    return specs


def _training(training: bool, fit: str | None, batch: int, optimizer, dtype, freeze):
    """(TrainingOptions or None, --fit in bytes or None): --fit implies --training."""
    cost = fit_bytes = None
    if training or fit is not None:
        from archcount.training.options import TrainingOptions

        cost = TrainingOptions(batch, optimizer, dtype, tuple(freeze or ()))
    if fit is not None:
        from archcount.errors import InputError
        from archcount.training.fit import parse_bytes

        try:
            fit_bytes = bounded("--fit", parse_bytes(fit))
        except OverflowError:  # 400 nines: float() is inf, int(inf) overflows
            raise InputError(f"--fit {fit[:24]}…: more bytes than any machine has") from None
    return cost, fit_bytes


def parse_depth(text: str | None) -> int | str | None:
    """--depth: a whole number >= 1, 'all', or None (unset: chosen to fit a screen)."""
    from archcount.errors import InputError
    from archcount.render.summary import ALL

    if text is None:
        return None
    word = text.strip()
    if word.lower() == ALL:
        return ALL
    # ASCII digits only ('²'.isdigit() is True), few enough for int() to read
    if not (word.isascii() and word.isdigit() and len(word) <= 30) or int(word) < 1:
        raise InputError(f"--depth wants a whole number >= 1 or 'all', got {text[:40]!r}")
    return bounded("--depth", int(word))


def _data(counted, shown, asked: bool) -> dict:
    """The JSON: every layer whatever the depth; `modules` down to a --depth N asked for
    (the depth chosen to fit a screen is for screens)."""
    data = counted.to_dict()
    if asked and shown.depth is not None:
        data["modules"] = [c.to_dict(shown.depth) for c in shown.root.children]
    return data


def _plot(path: str, fmt: str, report, nodes, log: bool) -> None:
    """Bars per layer, or per module shown with --depth, drawn to `path` atomically."""
    from archcount.cli.output import written
    from archcount.render.plot import Bar, chart_rows, layer_bars, layers_chart

    bars = layer_bars(report)
    if nodes is not None:
        bars = [Bar(f"{x.label} ({x.type})", *_sums(x.totals)) for x in nodes]
    rows = chart_rows(bars)
    capped = (  # the chart says so in its title; the line that says it was written too
        f"the {len(rows.bars) - 1} largest of {len(rows.bars) - 1 + rows.summed:,} rows drawn, "
        f"the other {rows.summed:,} summed on its last row (--depth N draws modules instead)"
    )
    written(path, layers_chart(report, bars, fmt, log), "--plot", capped if rows.summed else "")


def _sums(t) -> tuple[int, int, int | None]:
    """weights, outputs, connections of a subtotal (None when some are unknown)."""
    return t.weights, t.outputs, None if t.unknown else t.connections
