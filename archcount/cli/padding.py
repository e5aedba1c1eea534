"""`archcount padding`: solve one conv's shape equation, or every conv of a model at a new k.

Top-level imports stay light (typer only): torch is imported inside the command.
"""

from __future__ import annotations

from math import prod
from typing import Annotated

import typer

from archcount.cli.options import (
    Arg,
    Debug,
    Height,
    Json,
    Nc,
    Nf,
    Nic,
    Size,
    Width,
    bounded,
    constructor_args,
    echo_json,
    echo_rich,
    homework_args,
    parse_shape,
    prints_to_stderr,
    user_errors,
)

EQUATIONS = ("conv", "transposed")


def _ints_opt(flag: str, help_text: str):
    """An 'N' or per-dim 'N,N' option of the one-equation mode."""
    return typer.Option(flag, metavar="N|N,N", help=help_text, rich_help_panel="One equation")


MAX_TRIES = 4096  # paddings the solver may list: --stride 10^20 would never finish

What = Annotated[
    str,
    typer.Argument(
        metavar="conv|transposed|TARGET",
        help="conv or transposed for one equation, or a model (package.module.Class).",
        show_default=False,
    ),
]

PaddingK = Annotated[
    str | None,
    typer.Option("--k", metavar="N|N,N", help="Kernel (per dim: 4,3); in model mode the new k."),
]

Stride = Annotated[str | None, _ints_opt("--stride", "Stride (default 1).")]

Dilation = Annotated[str | None, _ints_opt("--dilation", "Dilation (default 1).")]

SizeIn = Annotated[str | None, _ints_opt("--in", "Input size per spatial dim.")]

SizeOut = Annotated[
    str | None,
    _ints_opt(
        "--out",
        "Wanted output size (default: ceil(in/stride) for conv, in*stride transposed).",
    ),
]

Dims = Annotated[
    int | None,
    typer.Option(
        "--dims",
        help="Spatial dims, 1-3 (default: as many as the N,N values, else 2).",
        rich_help_panel="One equation",
    ),
]

RefK = Annotated[
    int,
    typer.Option("--ref-k", help="Kernel whose shapes to keep.", rich_help_panel="Model"),
]

KernelArg = Annotated[
    str | None,
    typer.Option(
        "--kernel-arg",
        metavar="NAME",
        help="The constructor argument that sets the kernel (default: kernel).",
        rich_help_panel="Model",
    ),
]

ModelInputShape = Annotated[
    str | None,
    typer.Option(
        "--input-shape",
        metavar="C,H,W",
        rich_help_panel="Model",
        help="Per-example input shape for non-image models, e.g. 2,30 or 1,6,16,16.",
    ),
]


def padding_command(
    what: What,
    k: PaddingK = None,
    stride: Stride = None,
    dilation: Dilation = None,
    size_in: SizeIn = None,
    size_out: SizeOut = None,
    dims: Dims = None,
    ref_k: RefK = 3,
    kernel_arg: KernelArg = None,
    nic: Nic = None,
    nf: Nf = None,
    nc: Nc = None,
    arg: Arg = None,
    size: Size = None,
    height: Height = 32,
    width: Width = 32,
    input_shape: ModelInputShape = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Paddings (and output_paddings) that give a wanted size, smallest first.

    [dim]archcount padding conv --k 4 --in 32 --out 32[/]
    [dim]archcount padding transposed --k 4 --stride 2 --in 8 --out 16[/]
    [dim]archcount padding models.ConvTransposeNet --k 4[/]
    """
    with user_errors(debug):
        if what in EQUATIONS:
            if any(v is not None for v in (nic, nf, nc, arg, size, input_shape)):
                from archcount.errors import InputError

                raise InputError(
                    "--nic/--nf/--nc/--arg/--size/--input-shape are for model mode (a TARGET)"
                )
            _equation_mode(what, k, stride, dilation, size_in, size_out, dims, json_out)
            return
        equation_opts = {"--stride": stride, "--dilation": dilation, "--in": size_in}
        equation_opts |= {"--out": size_out, "--dims": dims}
        given = [name for name, v in equation_opts.items() if v is not None]
        if given:
            from archcount.errors import InputError

            raise InputError(f"{', '.join(given)}: model mode reads these from {what}'s layers")
        homework = homework_args({"nic": nic, "nf": nf, "nc": nc})
        sizes = (size if size is not None else height, size if size is not None else width)
        _model_mode(what, homework, arg, sizes, input_shape, (k, ref_k, kernel_arg), json_out)


def _equation_mode(op, k, stride, dilation, size_in, size_out, dims, json_out: bool) -> None:
    """One conv's (or transposed conv's) paddings, printed."""
    from archcount.render.padding import equation_renderable

    answer = _solve_equation(op, k, stride, dilation, size_in, size_out, dims)
    echo_json(answer.to_dict()) if json_out else echo_rich(equation_renderable(answer))


def _model_mode(target, homework, arg, sizes, input_shape, kernel, json_out: bool) -> None:
    """Every conv of the model at the new k (kernel: --k, --ref-k, --kernel-arg), printed."""
    from archcount.front.padding import solve_target
    from archcount.front.request import CountRequest
    from archcount.render.padding import model_renderable

    k, ref_k, kernel_arg = kernel
    request = CountRequest(
        target=target,
        homework=homework,
        args=constructor_args(arg),
        height=sizes[0],
        width=sizes[1],
        input_shape=parse_shape(input_shape),
    )
    with prints_to_stderr(json_out):
        k, ref_k = bounded("--k", _one_int("--k", k)), bounded("--ref-k", ref_k)
        result = solve_target(request, k, ref_k, kernel_arg)
    echo_json(result.to_dict()) if json_out else echo_rich(model_renderable(result))


def _solve_equation(op, k, stride, dilation, size_in, size_out, dims):
    """Parse the options, default --out, and solve; no solution is a PaddingError."""
    from archcount.padding.equations import PaddingError, equation, solve

    if k is None or size_in is None:
        raise PaddingError(f"padding {op} needs --k and --in")
    ints = {
        name: _ints(name, text)
        for name, text in (("--k", k), ("--stride", stride or "1"), ("--dilation", dilation or "1"))
    }
    ints["--in"] = _ints("--in", size_in)
    eq = equation(op, ints["--k"], ints["--stride"], ints["--dilation"], ints["--in"], 1, dims)
    tries = prod(max(s, d) for s, d in zip(eq.stride, eq.dilation))
    if tries > MAX_TRIES:  # the solver lists up to max(stride, dilation) paddings per dim
        raise PaddingError(
            f"--stride/--dilation: {tries:,.4g} padding combinations to try (max(stride, "
            f"dilation) multiplied over the dims); at most {MAX_TRIES:,}"
        )
    if size_out is None:  # keep the size: n/stride down (rounded up), n*stride up
        grow = op == "transposed"
        out = tuple(n * s if grow else -(-n // s) for n, s in zip(eq.size_in, eq.stride))
    else:
        out = _ints("--out", size_out)
    eq = equation(op, eq.kernel, eq.stride, eq.dilation, eq.size_in, out, eq.dims)
    answer = solve(eq)
    if answer.reason:
        from archcount.render.text import shape

        raise PaddingError(f"no padding gives {shape(eq.size_out)}: {answer.reason}")
    return answer


def _ints(name: str, text: str) -> int | tuple[int, ...]:
    """'4' -> 4, '4,3' -> (4, 3); anything else is an InputError."""
    from archcount.padding.equations import PaddingError

    try:
        values = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        raise PaddingError(
            f"{name} wants an integer or one per dim like 4,3, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _one_int(name: str, text: str | None) -> int:
    from archcount.padding.equations import PaddingError

    value = _ints(name, text) if text is not None else None
    if not isinstance(value, int):
        raise PaddingError(f"model mode needs {name} with one integer, got {text!r}")
    return value
