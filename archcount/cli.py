"""The `archcount` command: thin typer wrappers over one library call each.

`archcount TARGET ...` runs the default `count` command; other commands are named first.
Heavy modules (torch, sympy, …) are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from typer.core import TyperGroup

from archcount.errors import ArchcountError
from archcount.records import Convention


class DefaultGroup(TyperGroup):
    """A group whose first argument, when it is not a command name, goes to `count`."""

    default_command = "count"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultGroup,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Count [bold]weights[/], [bold]outputs[/] and [bold]connections[/] of a PyTorch model, "
    "per layer and in total.\n\n"
    "[dim]archcount models.PoolUpsampleNet --nic 3 --nf 32 --size 64[/]\n\n"
    "A TARGET first is short for [bold]archcount count TARGET[/]; "
    "[bold]archcount count --help[/] lists its options.",
)

# Options shared by several commands, declared once.
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]
ConventionOpt = Annotated[
    Convention,
    typer.Option(
        "--convention",
        help="units: activations add nothing (textbook); modules: every leaf output counts.",
    ),
]
Target = Annotated[
    str,
    typer.Argument(
        help="package.module.Class or package.module:factory, e.g. models.PoolUpsampleNet.",
        show_default=False,
    ),
]
Nic = Annotated[
    int | None,
    typer.Option(
        "--nic",
        help="num_in_channels (NIC); also the input's channels.",
        rich_help_panel="Homework",
    ),
]
Nf = Annotated[
    int | None, typer.Option("--nf", help="num_filters (NF).", rich_help_panel="Homework")
]
Nc = Annotated[
    int | None, typer.Option("--nc", help="num_colours (NC).", rich_help_panel="Homework")
]
K = Annotated[int | None, typer.Option("--k", help="kernel (k).", rich_help_panel="Homework")]
Size = Annotated[
    int | None,
    typer.Option("--size", "-s", help="Input height = width (S).", rich_help_panel="Input"),
]
Height = Annotated[int, typer.Option("--height", help="Input height.", rich_help_panel="Input")]
Width = Annotated[int, typer.Option("--width", help="Input width.", rich_help_panel="Input")]
Arg = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        "-a",
        metavar="NAME=VALUE",
        help="Any other constructor argument (a Python literal or a string); repeatable.",
    ),
]


def _version(value: bool) -> None:
    if value:
        from archcount import __version__

        typer.echo(f"archcount {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Count weights, outputs and connections of a PyTorch model, per layer and in total."""


@contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """The one place that maps our errors to a red line on stderr and exit code 2."""
    try:
        yield
    except ArchcountError as exc:
        if debug:
            raise
        from rich.console import Console

        Console(stderr=True, soft_wrap=True, highlight=False).print(
            f"error: {exc}", style="red", markup=False
        )
        raise typer.Exit(2) from None


def echo_json(data: dict) -> None:
    """Write `data` as JSON to stdout, unwrapped."""
    import json

    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def echo_rich(renderable) -> None:
    """Print a rich renderable to stdout; piped output is not squeezed to 80 columns."""
    import os

    from rich.console import Console

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    Console(width=160 if wide else None).print(renderable)


@app.command("count")
def count_command(
    target: Target,
    nic: Nic = None,
    nf: Nf = None,
    nc: Nc = None,
    k: K = None,
    size: Size = None,
    height: Height = 32,
    width: Width = 32,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            help="Batch of the forward pass; counts are per example.",
            rich_help_panel="Input",
        ),
    ] = 1,
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input-shape",
            metavar="C,H,W",
            rich_help_panel="Input",
            help="Per-example input shape, for models that take no image, e.g. 128 or 3,224,224.",
        ),
    ] = None,
    input_dtype: Annotated[
        str,
        typer.Option(
            "--input-dtype", rich_help_panel="Input", help="float, or long for token ids."
        ),
    ] = "float",
    arg: Arg = None,
    convention: ConventionOpt = Convention.UNITS,
    ignore_bias: Annotated[
        bool,
        typer.Option(
            "--ignore-bias",
            help="Leave out the biases of conv/linear layers (a handout's variant).",
        ),
    ] = False,
    ignore_norm: Annotated[
        bool,
        typer.Option(
            "--ignore-norm", help="Leave out normalisation layers entirely (a handout's variant)."
        ),
    ] = False,
    device: Annotated[
        str,
        typer.Option(
            "--device",
            help="auto: a real CPU pass for small models, else meta; meta: no memory, no "
            "arithmetic, any size; cpu; cuda. Every device gives the same counts.",
        ),
    ] = "auto",
    functional: Annotated[
        bool,
        typer.Option(
            "--functional",
            help="Add arithmetic done outside modules (torch.cat, x + y, F.interpolate, "
            "matmuls), which is always listed, to the totals.",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--cross-check",
            help="Compare with torchinfo and fvcore (run on a CPU copy), differences explained.",
        ),
    ] = False,
    json_out: Json = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Also write to FILE: .md, .html, .svg or .json."
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Count a model: a row per layer call, totals, and what could not be counted.

    [dim]archcount models.ConvTransposeNet --nf 16 --size 64 --convention modules --json[/]
    """
    with user_errors(debug):
        from archcount.records import Options
        from archcount.request import CountRequest, build, count_built
        from archcount.target import parse_args

        request = CountRequest(
            target=target,
            homework={"nic": nic, "nf": nf, "nc": nc, "k": k},
            args=parse_args(arg or []),
            height=size if size is not None else height,
            width=size if size is not None else width,
            batch=batch,
            input_shape=parse_shape(input_shape),
            input_dtype=input_dtype,
            device=device,
            options=Options(convention, not ignore_bias, not ignore_norm),
        )
        built = build(request)
        report = count_built(request, built)
        from archcount.extras import extend  # functional ops, --cross-check

        report = extend(request, built, report, add_functional=functional, check=check)
        from archcount.cli_formulas import show_count  # + declared formulas, --output

        show_count(report, target, json_out, output)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """'3,224,224' -> (3, 224, 224)."""
    if text is None:
        return None
    from archcount.errors import InputError

    try:
        return tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise InputError(f"--input-shape wants integers like 3,224,224, got {text!r}") from None


# Commands in their own modules; they import the shared options above, so they come last.
from archcount.cli_padding import padding_command

app.command("padding")(padding_command)
from archcount.cli_formulas import check_command, derive_command

app.command("derive")(derive_command)
app.command("check")(check_command)


def main() -> None:
    """Console-script entry point."""
    app()
