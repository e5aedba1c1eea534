"""Call a model factory on a device: factory(**kwargs) -> nn.Module; mistakes as TargetError."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from archcount.errors import TargetError


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
        detail = str(exc) or type(exc).__name__  # MemoryError() says nothing itself
        raise TargetError(f"{label}({_kw(kwargs)}) failed: {detail}{hint}") from exc
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


def arguments(factory: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Every named constructor argument the call factory(**kwargs) sees: given, else default."""
    sig = accepted(factory)
    if sig is None:
        return dict(kwargs)
    defaults = {
        name: p.default
        for name, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty and name != "self"
    }
    return defaults | dict(kwargs)


def _kw(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
