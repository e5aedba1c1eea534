"""Example inputs: `--input NAME=SHAPE[:DTYPE]` (keyword arguments of forward) and their dtypes."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch

from archcount.engine import tags
from archcount.errors import InputError

STORAGE_BYTES = 2**63  # PyTorch counts a storage's bytes in an int64, even on meta

# Names a user may write for a dtype (--input ...:DTYPE and --input-dtype).
DTYPES: dict[str, torch.dtype] = {
    "float": torch.float32,
    "float32": torch.float32,
    "double": torch.float64,
    "float64": torch.float64,
    "half": torch.float16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "long": torch.long,
    "int64": torch.long,
    "int": torch.int32,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}


@dataclass(frozen=True)
class InputSpec:
    """One example input: its keyword name ('' = positional), whole shape, dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype

    def tensor(self, device: str | torch.device) -> torch.Tensor:
        """Zeros (valid token ids); ones for a name ending in 'mask' (nothing masked)."""
        fill = torch.ones if self.name.endswith("mask") else torch.zeros
        t = fill(self.shape, dtype=self.dtype, device=device)
        masky = self.name.endswith("mask") or not self.dtype.is_floating_point
        if masky and t.device.type == "meta":  # what masks built from it hold, known on meta
            tags.declare_values(t, fill(self.shape, dtype=self.dtype))
        return t


def check_size(shape: tuple[int, ...], dtype: torch.dtype, what: str) -> None:
    """InputError unless every size is a positive integer and the tensor fits in an int64 of
    bytes (PyTorch's own limit, checked before it overflows converting the sizes)."""
    if any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in shape):
        raise InputError(f"{what}: sizes must be positive integers, got {_x(shape)}")
    elements = prod(shape)
    if elements * dtype.itemsize >= STORAGE_BYTES:
        raise InputError(
            f"{what}: {_x(shape)} is more than PyTorch can hold (2^63 bytes): {elements:.3g} "
            f"elements of {dtype.itemsize} bytes"
        )


def _x(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "()"


def dtype_named(text: str, where: str) -> torch.dtype:
    """The dtype a user named; InputError listing the names otherwise."""
    if text not in DTYPES:
        raise InputError(f"{where} must be one of {', '.join(DTYPES)}, got {text!r}")
    return DTYPES[text]


def parse_input(text: str) -> InputSpec:
    """'input_ids=1,128:long' -> InputSpec('input_ids', (1, 128), torch.long); default float."""
    name, sep, rest = text.partition("=")
    shape_text, _, dtype_text = rest.partition(":")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise InputError(f"--input wants NAME=SHAPE[:DTYPE] (input_ids=1,128:long), got {text!r}")
    parts = [p.strip() for p in shape_text.replace("x", ",").split(",")]
    # isdigit() alone takes other scripts' digits and superscripts (int('²') fails)
    if not all(p.isascii() and p.isdigit() and p.strip("0") for p in parts):
        raise InputError(
            f"--input {name}: SHAPE wants positive integers written with 0-9, like 1,128, "
            f"got {shape_text.strip()!r}"
        )
    dtype = dtype_named(dtype_text.strip() or "float", f"--input {name}")
    long = [p.lstrip("0") for p in parts if len(p.lstrip("0")) > 19]
    if long:  # past int64 (and int() refuses 4,300 digits): never int() it
        shown = long[0] if len(long[0]) <= 24 else f"{long[0][:6]}… ({len(long[0])} digits)"
        raise InputError(
            f"--input {name}: {shown} does not fit in PyTorch's 64-bit sizes: "
            "a size of 20 digits or more is more than PyTorch holds"
        )
    shape = tuple(int(p) for p in parts)
    check_size(shape, dtype, f"--input {name}")
    return InputSpec(name, shape, dtype)


def parse_inputs(texts: list[str] | None) -> tuple[InputSpec, ...]:
    """Every --input, names unique."""
    specs = tuple(parse_input(t) for t in texts or ())
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"--input {', '.join(twice)} given twice")
    return specs
