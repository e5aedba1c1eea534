"""Options and helpers shared by every command, declared once; a leaf: it imports no command.

Top-level imports stay light (typer only) so `archcount --help` does not pay for torch.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, redirect_stdout, suppress
from typing import Annotated, Any

import typer

from archcount.errors import ArchcountError
from archcount.records import Convention
from archcount.training.options import Optimizer, Precision

INT64_MAX = 2**63 - 1  # PyTorch reads every size and integer argument as a C `long long`

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
        help="package.module.Class or package.module:factory, e.g. models.PoolUpsampleNet; "
        "or hf:MODEL_TYPE (transformers config defaults: the base model, without its head), "
        "hf:MODEL_TYPE:HEAD (with it, e.g. hf:gpt2:causal-lm), timm:NAME.",
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
InputShape = Annotated[
    str | None,
    typer.Option(
        "--input-shape",
        metavar="C,H,W",
        rich_help_panel="Input",
        help="Per-example input shape, for models that take no image, e.g. 128 or 3,224,224.",
    ),
]
Inputs = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        "-i",
        metavar="NAME=SHAPE[:DTYPE]",
        rich_help_panel="Input",
        help="A keyword input of forward, whole shape with the batch, e.g. "
        "input_ids=1,128:long; repeatable. DTYPE: float (default), long, int, half, bf16, "
        "bool, ... Zeros, ones for a NAME ending in mask.",
    ),
]
SymbolicShape = Annotated[
    str | None,
    typer.Option(
        "--input-shape",
        metavar="C,H,W",
        rich_help_panel="Input",
        help="Per-example input shape; a name is an input size to derive in, e.g. 4,16 or "
        "4,L or 3,S,S (default: the model's declared input).",
    ),
]
# What --output writes, by suffix (render.export writes them); .csv holds a count's layer rows,
# which derive and check have none of. Help and the check below read these, so they agree.
OUTPUT_SUFFIXES = (".md", ".html", ".htm", ".svg", ".json", ".csv")
FORMS_SUFFIXES = (".md", ".html", ".htm", ".svg", ".json")


def _suffix_in(accepted: tuple[str, ...]):
    """An --output callback: a FILE whose suffix is not `accepted` is a usage error at once."""

    def checked(value: str | None) -> str | None:
        if value is not None and os.path.splitext(value)[1].lower() not in accepted:
            raise typer.BadParameter(f"{value}: use one of {', '.join(accepted)}")
        return value

    return checked


Output = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="FILE", callback=_suffix_in(OUTPUT_SUFFIXES),
        help=f"Also write to FILE: {', '.join(OUTPUT_SUFFIXES[:-2])} (as shown), .json, or .csv "
        "(a count's rows: one per layer, then the totals).",
    ),
]  # fmt: skip
FormsOutput = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="FILE", callback=_suffix_in(FORMS_SUFFIXES),
        help=f"Also write to FILE: {', '.join(FORMS_SUFFIXES[:-1])} (as shown) or .json.",
    ),
]  # fmt: skip
Fix = Annotated[
    list[str] | None,
    typer.Option(
        "--fix",
        metavar="NAME=VALUE",
        help="Hold a variable at a value, e.g. --fix S=32 or --fix NIC=3; repeatable.",
    ),
]


def user_errors(debug: bool) -> AbstractContextManager[None]:
    """Every failure one red line on stderr, exit 2 (archcount.files.user_errors): ours as it
    is, anything the user's code raises (SystemExit included) named by its type."""
    from archcount.files import user_errors as sink

    return sink(debug, failure_line)


def failure_line(exc: BaseException) -> str:
    """One line for a failure: ours as it is, anything else named with its type."""
    from archcount.files import WriteError, one_line

    if isinstance(exc, ArchcountError | WriteError):
        return one_line(str(exc))
    if isinstance(exc, RecursionError):
        return (
            "recursion too deep: the model contains itself or nests modules deeper than "
            f"Python's limit ({sys.getrecursionlimit()}); --debug shows where"
        )
    if isinstance(exc, MemoryError):
        return "out of memory: try --device meta, or smaller sizes"
    if isinstance(exc, SystemExit):
        return f"the model's code called sys.exit({exc.code!r}); --debug shows where"
    text = one_line(str(exc))
    return f"{type(exc).__name__}{': ' + text if text else ''} (--debug shows the traceback)"


@contextmanager
def prints_to_stderr(json_out: bool) -> Iterator[None]:
    """Under --json, what the user's model prints while built and run goes to stderr, through
    sys.stdout or straight to file descriptor 1 (os.write(1, …)): stdout carries the JSON only."""
    if not json_out:
        yield
        return
    with redirect_stdout(sys.stderr):
        saved = _fd1_to_fd2()
        try:
            yield
        finally:
            if saved is not None:
                _flushed(sys.__stdout__)  # what the model left in Python's buffer of fd 1
                os.dup2(saved, 1)
                os.close(saved)


def _fd1_to_fd2() -> int | None:
    """A copy of file descriptor 1, which now points where 2 does; None (nothing changed)
    where either is closed."""
    try:
        _flushed(sys.__stdout__)  # ours, written before the model ran, stays on stdout
        saved = os.dup(1)
    except OSError:
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        return None
    return saved


def _flushed(stream) -> None:
    with suppress(OSError, ValueError, AttributeError):  # closed, or None under pythonw
        stream.flush()


def echo_json(data: dict) -> None:
    """Write `data` as strict JSON to stdout, unwrapped (non-finite numbers as null)."""
    from archcount.files import dumps

    sys.stdout.write(dumps(data) + "\n")


def echo_rich(renderable) -> None:
    """Print a rich renderable to stdout; piped output is not squeezed to 80 columns."""
    from rich.console import Console

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    Console(width=160 if wide else None, markup=False, emoji=False).print(renderable)


def show(renderable: Any, data: dict, json_out: bool, output: str | None) -> None:
    """Write --output FILE if asked, then print JSON or the renderable."""
    if output:
        from archcount.cli.output import write_output

        write_output(output, renderable, data)
    echo_json(data) if json_out else echo_rich(renderable)


def bounded(option: str, value: Any) -> Any:
    """`value` when every integer in it (inside lists, tuples, sets and dicts too) fits in
    PyTorch's 64-bit integers; else an InputError naming `option` (never torch's OverflowError)."""
    from archcount.errors import InputError

    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not -INT64_MAX - 1 <= item <= INT64_MAX:
            digits = str(abs(item))  # at most Python's 4,300 digits: literal_eval's own limit
            shown = digits if len(digits) <= 24 else f"{digits[:6]}… ({len(digits)} digits)"
            raise InputError(
                f"{option}: {'-' if item < 0 else ''}{shown} does not fit in PyTorch's 64-bit "
                "sizes and integers (-2^63 to 2^63-1)"
            )
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple | set | frozenset):
            stack += list(item)
    return value


def homework_args(values: dict[str, int | None]) -> dict[str, int | None]:
    """{'nf': --nf, …}: the homework's options as given, each within 64 bits."""
    for name, value in values.items():
        bounded(f"--{name}", value)
    return values


def constructor_args(pairs: list[str] | None) -> dict[str, Any]:
    """--arg NAME=VALUE pairs as constructor arguments (Python literals, else strings), each
    integer within 64 bits."""
    from archcount.errors import InputError
    from archcount.front.target import parse_args

    args = parse_args(pairs or [])
    for name, value in args.items():
        if isinstance(value, str) and _ARITHMETIC.fullmatch(value) and _OPERATOR.search(value):
            raise InputError(
                f"--arg {name}={value[:40]}: arithmetic is never evaluated (only Python "
                "literals are read); write the value itself, e.g. 1000000 rather than 10**6"
            )
        bounded(f"--arg {name}", value)
    return args


_ARITHMETIC = re.compile(r"[\d\s.()+\-*/^%]*\d[\d\s.()+\-*/^%]*")  # '10**30', '2^10', '2*(3+4)'
_OPERATOR = re.compile(r"[*/^%]")  # a product or power: '-5' is a literal, '2020-01-01' a string


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """'3,224,224' -> (3, 224, 224)."""
    if text is None:
        return None
    from archcount.errors import InputError

    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    # int() also reads other scripts' digits ('١٢٨' is 128): only 0-9 are sizes here
    if not all(p.lstrip("-").isascii() and p.lstrip("-").isdigit() for p in parts):
        raise InputError(f"--input-shape wants integers like 3,224,224, got {text!r}")
    return tuple(int(p) for p in parts)


def parse_symbolic_shape(text: str | None) -> tuple[int | str, ...] | None:
    """'4,L' -> (4, 'L'): integers, and names of input sizes."""
    if text is None:
        return None
    from archcount.errors import InputError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(_whole(p) or p.isidentifier() for p in parts):
        raise InputError(f"--input-shape wants integers or names like 4,16 or 3,S,S, got {text!r}")
    return tuple(int(p) if _whole(p) else p for p in parts)


def parse_fix(pairs: list[str]) -> dict[str, int]:
    """['S=32', 'NIC=3'] -> {'S': 32, 'NIC': 3}."""
    from archcount.errors import InputError

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier() or not _whole(value.strip().lstrip("-")):
            raise InputError(f"--fix wants NAME=INTEGER, e.g. S=32, got {pair[:60]!r}")
        if int(value) < 0:
            raise InputError(f"--fix {pair}: a held value is a whole number >= 0")
        out[name.strip()] = bounded(f"--fix {name.strip()}", int(value))
    return out


def _whole(text: str) -> bool:
    """ASCII digits only ('²'.isdigit() is True, but int('²') fails), at most 30 of them."""
    return text.isascii() and text.isdigit() and len(text) <= 30


# --training and its options, on `count` and `derive` alike
TrainingFlag = Annotated[
    bool,
    typer.Option(
        "--training",
        help="The cost of one training step at --batch: forward and backward multiply-adds "
        "(input- and weight-gradient), bytes saved for backward, parameter, gradient and "
        "optimizer bytes, the estimated peak; per layer, priced on meta without a backward.",
        rich_help_panel="Training",
    ),
]
OptimizerOpt = Annotated[
    Optimizer,
    typer.Option(
        "--optimizer", help="State buffers: sgd 0, momentum 1, adam/adamw 2.",
        rich_help_panel="Training",
    ),
]  # fmt: skip
DtypeOpt = Annotated[
    Precision,
    typer.Option(
        "--dtype",
        help="fp32; bf16 (everything bf16); fp16-mixed (fp16 weights and activations, fp32 "
        "master weights and optimizer state).",
        rich_help_panel="Training",
    ),
]
Freeze = Annotated[
    list[str] | None,
    typer.Option(
        "--freeze", metavar="PATTERN",
        help="Freeze the parameters whose names match a glob, e.g. 'layer1.*'; repeatable.",
        rich_help_panel="Training",
    ),
]  # fmt: skip
