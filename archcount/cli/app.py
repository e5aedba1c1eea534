"""The `archcount` app: the one module that imports the commands and registers them.

`archcount TARGET ...` runs the default `count` command; other commands are named first.
Heavy modules (torch, sympy, …) are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from archcount.cli.calibrate import calibrate_command
from archcount.cli.check import check_command
from archcount.cli.count import count_command
from archcount.cli.derive import derive_command
from archcount.cli.group import OneLineGroup
from archcount.cli.padding import padding_command


class DefaultGroup(OneLineGroup):
    """A group whose first argument, when it is neither a command name nor one of the group's
    own options (--help, --version), goes to `count`: `archcount --nf 16` is a count that lacks
    its TARGET, not an unknown option of the group."""

    default_command = "count"

    def parse_args(self, ctx, args):
        own = {o for p in self.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}
        if args and args[0] not in self.commands and args[0].partition("=")[0] not in own:
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


app.command("count")(count_command)
app.command("padding")(padding_command)
app.command("derive")(derive_command)
app.command("check")(check_command)
app.command("calibrate")(calibrate_command)


def main() -> None:
    """Console-script entry point."""
    app()
