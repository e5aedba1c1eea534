"""`archcount padding`: solve one conv's shape equation, or every conv of a model at a new k.

Top-level imports stay light (typer only): torch is imported inside the command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from archcount.cli import (
    Arg,
    Debug,
    Height,
    Json,
    Nc,
    Nf,
    Nic,
    Size,
    Width,
    echo_json,
    echo_rich,
    parse_shape,
    user_errors,
)

EQUATIONS = ("conv", "transposed")
_AXES = {1: ("",), 2: ("h", "w"), 3: ("d", "h", "w")}


def _ints_opt(flag: str, help_text: str):
    """An 'N' or per-dim 'N,N' option of the one-equation mode."""
    return typer.Option(flag, metavar="N|N,N", help=help_text, rich_help_panel="One equation")


def padding_command(
    what: Annotated[
        str,
        typer.Argument(
            metavar="conv|transposed|TARGET",
            help="conv or transposed for one equation, or a model (package.module.Class).",
            show_default=False,
        ),
    ],
    k: Annotated[
        str | None,
        typer.Option(
            "--k", metavar="N|N,N", help="Kernel (per dim: 4,3); in model mode the new k."
        ),
    ] = None,
    stride: Annotated[str | None, _ints_opt("--stride", "Stride (default 1).")] = None,
    dilation: Annotated[str | None, _ints_opt("--dilation", "Dilation (default 1).")] = None,
    size_in: Annotated[str | None, _ints_opt("--in", "Input size per spatial dim.")] = None,
    size_out: Annotated[
        str | None,
        _ints_opt(
            "--out",
            "Wanted output size (default: ceil(in/stride) for conv, in*stride transposed).",
        ),
    ] = None,
    dims: Annotated[
        int | None,
        typer.Option(
            "--dims",
            help="Spatial dims, 1-3 (default: as many as the N,N values, else 2).",
            rich_help_panel="One equation",
        ),
    ] = None,
    ref_k: Annotated[
        int,
        typer.Option("--ref-k", help="Kernel whose shapes to keep.", rich_help_panel="Model"),
    ] = 3,
    nic: Nic = None,
    nf: Nf = None,
    nc: Nc = None,
    arg: Arg = None,
    size: Size = None,
    height: Height = 32,
    width: Width = 32,
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input-shape",
            metavar="C,H,W",
            rich_help_panel="Model",
            help="Per-example input shape for non-image models, e.g. 2,30 or 1,6,16,16.",
        ),
    ] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Paddings (and output_paddings) that give a wanted size, smallest first.

    [dim]archcount padding conv --k 4 --in 32 --out 32[/]
    [dim]archcount padding transposed --k 4 --stride 2 --in 8 --out 16[/]
    [dim]archcount padding models.ConvTransposeNet --k 4[/]
    """
    with user_errors(debug):
        from archcount.errors import InputError

        equation_opts = {"--stride": stride, "--dilation": dilation, "--in": size_in}
        equation_opts |= {"--out": size_out, "--dims": dims}
        if what in EQUATIONS:
            if any(v is not None for v in (nic, nf, nc, arg, size, input_shape)):
                raise InputError(
                    "--nic/--nf/--nc/--arg/--size/--input-shape are for model mode (a TARGET)"
                )
            answer = _solve_equation(what, k, stride, dilation, size_in, size_out, dims)
            echo_json(answer.to_dict()) if json_out else echo_rich(equation_renderable(answer))
            return
        given = [name for name, v in equation_opts.items() if v is not None]
        if given:
            raise InputError(f"{', '.join(given)}: model mode reads these from {what}'s layers")
        from archcount.padding_model import solve_model
        from archcount.request import CountRequest
        from archcount.target import parse_args

        request = CountRequest(
            target=what,
            homework={"nic": nic, "nf": nf, "nc": nc},
            args=parse_args(arg or []),
            height=size if size is not None else height,
            width=size if size is not None else width,
            input_shape=parse_shape(input_shape),
        )
        result = solve_model(request, _one_int("--k", k), ref_k)
        echo_json(result.to_dict()) if json_out else echo_rich(model_renderable(result))


def _solve_equation(op, k, stride, dilation, size_in, size_out, dims):
    """Parse the options, default --out, and solve; no solution is a PaddingError."""
    from archcount.padding import PaddingError, equation, solve

    if k is None or size_in is None:
        raise PaddingError(f"padding {op} needs --k and --in")
    ints = {
        name: _ints(name, text)
        for name, text in (("--k", k), ("--stride", stride or "1"), ("--dilation", dilation or "1"))
    }
    ints["--in"] = _ints("--in", size_in)
    eq = equation(op, ints["--k"], ints["--stride"], ints["--dilation"], ints["--in"], 1, dims)
    if size_out is None:  # keep the size: n/stride down (rounded up), n*stride up
        grow = op == "transposed"
        out = tuple(n * s if grow else -(-n // s) for n, s in zip(eq.size_in, eq.stride))
    else:
        out = _ints("--out", size_out)
    eq = equation(op, eq.kernel, eq.stride, eq.dilation, eq.size_in, out, eq.dims)
    answer = solve(eq)
    if answer.reason:
        raise PaddingError(f"no padding gives {_size(eq.size_out)}: {answer.reason}")
    return answer


def _ints(name: str, text: str) -> int | tuple[int, ...]:
    """'4' -> 4, '4,3' -> (4, 3); anything else is an InputError."""
    from archcount.padding import PaddingError

    try:
        values = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        raise PaddingError(
            f"{name} wants an integer or one per dim like 4,3, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _one_int(name: str, text: str | None) -> int:
    from archcount.padding import PaddingError

    value = _ints(name, text) if text is not None else None
    if not isinstance(value, int):
        raise PaddingError(f"model mode needs {name} with one integer, got {text!r}")
    return value


def _size(values: tuple[int, ...]) -> str:
    return "×".join(map(str, values))


def _same(values: tuple[int, ...]) -> str:
    """One number when every dim agrees, else 4×3."""
    return str(values[0]) if len(set(values)) == 1 else _size(values)


def pad_text(solution, field: str = "padding") -> str:
    """'1', '(1, 2)' for (before, after), or per dim 'h: 1, w: 2'."""
    pads = solution.pads
    if field == "output_padding":
        per = [str(p.output_padding) for p in pads]
    else:
        per = [str(p.before) if p.symmetric else f"({p.before}, {p.after})" for p in pads]
    if all(x == per[0] for x in per):
        return per[0]
    return ", ".join(f"{axis}: {x}" for axis, x in zip(_AXES[len(pads)], per))


def equation_renderable(answer):
    """A table of every solution, then how to write an asymmetric one in PyTorch."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from archcount.padding import Op, pytorch_hint

    e = answer.equation
    transposed = e.op is Op.TRANSPOSED
    title = (
        f"{'ConvTranspose' if transposed else 'Conv'}{e.dims}d: k={_same(e.kernel)}, "
        f"stride {_same(e.stride)}, dilation {_same(e.dilation)}, "
        f"{_size(e.size_in)} → {_size(e.size_out)}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("padding", no_wrap=True)
    if transposed:
        table.add_column("output_padding", no_wrap=True)
    table.add_column("PyTorch")
    for s in answer.solutions:
        cells = [pad_text(s)] + ([pad_text(s, "output_padding")] if transposed else [])
        table.add_row(*cells, pytorch_hint(e, s))
    if answer.symmetric:
        return table
    what = "crop" if transposed else "pad"
    note = (
        f"no symmetric padding gives {_size(e.size_in)} → {_size(e.size_out)}: "
        f"{what} (before, after) unequally (PyTorch's padding= pads both sides alike)"
    )
    return Group(table, Text(note, style="yellow"))


def model_renderable(result):
    """One row per conv call (shapes at the reference k, padding at the new k), then notes."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from archcount.records import call_label

    table = Table(
        title=f"{result.model}: paddings at k={result.kernel} that keep the shapes of "
        f"k={result.reference_kernel}",
        caption="padding: zeros added (conv) or outputs cropped (transposed), (before, after) "
        f"when unequal; as built: the layer made at k={result.kernel} already keeps its shape",
        caption_justify="left",
    )
    for header in ("layer", "type", "in → out", "stride", "padding", "output_padding"):
        table.add_column(header, no_wrap=True)
    table.add_column("as built", justify="center")
    notes = []
    for row in result.layers:
        name = call_label(row.name, row.call)
        table.add_row(name, *_model_cells(row), style="" if row.answer.symmetric else "yellow")
        if row.best is None:
            notes.append(f"{name}: no padding fits: {row.answer.reason}")
        elif not row.best.symmetric:
            notes.append(f"{name}: no symmetric padding; {row.answer.pytorch}")
    return Group(table, Text("\n".join(notes), style="yellow")) if notes else table


def _model_cells(row) -> list[str]:
    e, best = row.answer.equation, row.best
    transposed = e.op.value == "transposed"
    return [
        row.type,
        f"{_size(e.size_in)} → {_size(e.size_out)}",
        _same(e.stride),
        pad_text(best) if best else "none",
        pad_text(best, "output_padding") if best and transposed else "",
        "✓" if row.keeps else "✗",
    ]
