"""Resolve a TARGET ('pkg.module.Class' or 'pkg.module:factory'), and the homework's names.

This is the one place that knows the homework's constructor arguments: the --nic/--nf/--nc/--k
flags set them (--nic also sets the input's channels). What a model's formula symbols stand
for is the model's own declaration (archcount.Symbols), not read from these names.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from archcount.errors import TargetError

# How alike a mistyped class and a real one must be (difflib's ratio): 'PoolUpsampleNt' and
# 'PoolUpsampleNet' are 0.97, a one-letter slip in a 6-letter name 0.83
NAME_CUTOFF = 0.75
# The homework's constructor names, reachable as --nic/--nf/--nc/--k.
HOMEWORK_ARGS = {"nic": "num_in_channels", "nf": "num_filters", "nc": "num_colours", "k": "kernel"}


def load_target(spec: str) -> Callable[..., Any]:
    """Import `spec` and return the class or factory it names (hf:/timm: from front.zoo)."""
    if spec.startswith(("hf:", "timm:")):  # model zoos: built from configs, never downloaded
        from archcount.front.zoo import zoo_factory

        return zoo_factory(spec)
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
    else:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise TargetError(
            f"TARGET must look like package.module.Class or package.module:factory, got {spec!r}"
        )
    dotted = [*module_name.split("."), *attr.split(".")]
    if not all(part.isidentifier() for part in dotted):
        raise TargetError(
            f"TARGET is dotted Python names, not a file path: got {spec!r} (run archcount "
            "in the folder that holds the package, or add that folder to PYTHONPATH)"
        )
    if os.getcwd() not in sys.path:  # let users count models defined in their working folder
        sys.path.insert(0, os.getcwd())
    module = _imported(module_name)
    obj, where = module, spec[: len(spec) - len(attr)]  # 'models.' or 'pkg.mod:'
    for part in attr.split("."):
        if not hasattr(obj, part):
            hint = _near(obj, part, where)
            raise TargetError(f"module {module_name!r} has no attribute {attr!r}{hint}")
        obj, where = getattr(obj, part), f"{where}{part}."
    if not callable(obj):
        raise TargetError(f"{spec} is not a class or a function")
    return obj


def _near(obj: Any, name: str, where: str) -> str:
    """'; did you mean models.PoolUpsampleNet?': the classes and functions of `obj` alike to
    `name`, each written as a TARGET (`where` is what precedes the name)."""
    names = [n for n in dir(obj) if not n.startswith("_")]
    # only the few alike are read: a lazy package (transformers) imports what is read
    alike = difflib.get_close_matches(name, names, n=6, cutoff=NAME_CUTOFF)
    near = [n for n in alike if callable(getattr(obj, n, None))][:3]
    return f"; did you mean {' or '.join(where + n for n in near)}?" if near else ""


def _imported(module_name: str):
    """importlib.import_module; whatever the module raises at import is a TargetError."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"cannot import module {module_name!r}: {exc}") from exc
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else "its source"
        message = f"module {module_name!r} has a syntax error ({where}): {exc.msg}"
        raise TargetError(message) from exc
    except (Exception, SystemExit) as exc:  # the module's own code, run by importing it
        raise TargetError(
            f"importing module {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from exc


def parse_args(pairs: list[str]) -> dict[str, Any]:
    """['a=1', 'b=relu'] -> {'a': 1, 'b': 'relu'}: Python literals, else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise TargetError(f"--arg wants NAME=VALUE, got {pair!r}")
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            out[name] = text
    return out
