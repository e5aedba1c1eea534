"""Resolve a TARGET ('pkg.module.Class' or 'pkg.module:factory') and build the model."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

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


def accepted(factory: Callable[..., Any]) -> inspect.Signature | None:
    """The factory's signature, or None when Python cannot tell."""
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        return None


def build_model(factory: Callable[..., Any], kwargs: Mapping[str, Any], device: str) -> nn.Module:
    """factory(**kwargs) built under torch.device(device); user mistakes become TargetError."""
    label = getattr(factory, "__name__", repr(factory))
    sig = accepted(factory)
    if sig is not None:
        try:
            sig.bind(**kwargs)
        except TypeError as exc:
            names = ", ".join(p for p in sig.parameters if p != "self") or "nothing"
            raise TargetError(
                f"{label} does not take {dict(kwargs)}: {exc} (it takes: {names})"
            ) from exc
    try:
        with torch.device(device):
            model = factory(**kwargs)
    except Exception as exc:  # the user's constructor: report it, keep the cause for --debug
        meta_trouble = device == "meta" and (
            "meta" in str(exc) or isinstance(exc, NotImplementedError)
        )
        hint = " (it may need real tensors: try --device cpu)" if meta_trouble else ""
        raise TargetError(f"{label}({_kw(kwargs)}) failed: {exc}{hint}") from exc
    if not isinstance(model, nn.Module):
        raise TargetError(f"{label} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def takes(factory: Callable[..., Any], name: str) -> bool:
    """True when factory accepts keyword `name` (by name or through **kwargs)."""
    sig = accepted(factory)
    if sig is None:
        return True
    params = sig.parameters.values()
    return name in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in params)


def default_of(factory: Callable[..., Any], name: str) -> Any:
    """The default value of constructor argument `name`, or None."""
    sig = accepted(factory)
    if sig is None or name not in sig.parameters:
        return None
    default = sig.parameters[name].default
    return None if default is inspect.Parameter.empty else default


def _kw(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
