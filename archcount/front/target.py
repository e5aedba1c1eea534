"""Resolve a TARGET ('pkg.module.Class' or 'pkg.module:factory'), and the homework's names.

This is the one place that knows the homework's constructor arguments: the --nic/--nf/--nc/--k
flags set them (--nic also sets the input's channels). What a model's formula symbols stand
for is the model's own declaration (archcount.Symbols), not read from these names.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from archcount.errors import TargetError

# The homework's constructor names, reachable as --nic/--nf/--nc/--k.
HOMEWORK_ARGS = {"nic": "num_in_channels", "nf": "num_filters", "nc": "num_colours", "k": "kernel"}


def load_target(spec: str) -> Callable[..., Any]:
    """Import `spec` and return the class or factory it names."""
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
    else:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise TargetError(
            f"TARGET must look like package.module.Class or package.module:factory, got {spec!r}"
        )
    if os.getcwd() not in sys.path:  # let users count models defined in their working folder
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"cannot import module {module_name!r}: {exc}") from exc
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise TargetError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TargetError(f"{spec} is not a class or a function")
    return obj


def parse_args(pairs: list[str]) -> dict[str, Any]:
    """['a=1', 'b=relu'] -> {'a': 1, 'b': 'relu'}: Python literals, else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise TargetError(f"--arg wants NAME=VALUE, got {pair!r}")
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out
