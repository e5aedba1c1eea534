"""One training-mode forward: per layer, the backward rules' MACs and the storages saved.

Nothing runs backward. The forward runs with grad enabled, in train mode, under a
TorchDispatchMode (every aten op with a backward rule is charged to the innermost counted
module running it, its gradients only for arguments that require grad) and under
saved_tensors_hooks (each storage autograd saves is charged once, to the layer that saved it
first; parameters and buffers are not activations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from archcount.engine.dispatch import DispatchMode
from archcount.engine.rules.registry import Grads, Registry, as_shapes, schema_args
from archcount.engine.rules.storage import COPIES
from archcount.engine.stack import ModuleStack, mode
from archcount.errors import ForwardError, RuleError
from archcount.records import call_label


@dataclass
class Tally:
    """What one layer costs in the step, whole batch (filled during the pass)."""

    type: str
    forward: int = 0
    input_grad: int = 0
    weight_grad: int = 0
    saved: int = 0


@dataclass
class Traced:
    """The pass's result: a tally per layer label (in call order), inputs and outputs."""

    layers: dict[str, Tally] = field(default_factory=dict)
    saved_keys: set[int] = field(default_factory=set)
    output_bytes: int = 0
    input_bytes: int = 0  # input storages autograd did not save
    # every call the module stack gave a row, in the order they finished (the table leaves
    # out later calls that cost nothing, and shows modules that never ran with their bytes)
    calls: list[str] = field(default_factory=list)


def storage_key(t: torch.Tensor) -> int:
    """One number per storage: views of one tensor share it."""
    return t.untyped_storage()._cdata


def storage_bytes(t: torch.Tensor) -> int:
    """Bytes of the whole storage `t` views."""
    return t.untyped_storage().nbytes()


def owner(stack: ModuleStack, root: str) -> tuple[str, str]:
    """(label, type) of the innermost call with a row, else of the innermost module's own code
    (`root`'s for the model's)."""
    frame = stack.owner()
    if frame is not None:
        return call_label(frame.name, frame.call), type(frame.module).__name__
    inner = stack.frames[-1] if stack.frames else None
    name = root if inner is None or inner.module is stack.model else inner.name
    return f"{name} (own code)", "ops"


class _Charge(DispatchMode):
    """Runs each op; one with a backward rule is charged to the current layer."""

    def __init__(self, registry: Registry, stack: ModuleStack, root: str, traced: Traced, params):
        super().__init__()
        self.registry, self.stack, self.traced, self.params = registry, stack, traced, params
        self.root = root

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func.overloadpacket in COPIES and self._weight(args[0]):
            self.params.update(storage_key(t) for t in _tensors(out))
        rule = self.registry.lookup(func)
        if rule is not None and rule.fn is not None:
            self._charge(func, rule.fn, args, kwargs, out)
        return out

    def _weight(self, t) -> bool:
        return isinstance(t, torch.Tensor) and storage_key(t) in self.params

    def _charge(self, func, fn, args, kwargs, out) -> None:
        outs = _tensors(out)
        named = schema_args(func, args, kwargs)
        try:
            g: Grads = fn(as_shapes(named), tuple(outs[0].shape))
        except Exception as exc:  # our rule's bug, not the model's: say which rule
            raise RuleError(f"the backward rule for {func} failed: {exc}") from exc
        label, kind = owner(self.stack, self.root)
        tally = self.traced.layers.setdefault(label, Tally(kind))
        tally.forward += g.forward
        if not torch.is_grad_enabled():
            return
        needed = False
        for arg, macs in g.per_arg.items():
            t = named.get(arg)
            if isinstance(t, torch.Tensor) and t.requires_grad:
                needed = True
                if self._weight(t):
                    tally.weight_grad += macs
                else:
                    tally.input_grad += macs
        if needed:
            tally.input_grad += g.shared


def _tensors(obj) -> list[torch.Tensor]:
    return [t for t in tree_leaves(obj) if isinstance(t, torch.Tensor)]


def trace(
    model: nn.Module,
    args: tuple,
    targets,
    rules: Registry,
    registry: Registry,
    root: str,
    kwargs: dict | None = None,
) -> Traced:
    """The training-mode forward of `model(*args, **kwargs)` (grad enabled), per layer.

    `targets` are the modules with a row (stack.row_modules of `rules`), `registry` the
    backward rules.
    """
    kwargs = kwargs or {}
    traced = Traced()
    for name, m in targets:
        traced.layers.setdefault(call_label(name, 0), Tally(type(m).__name__))
    params = {storage_key(t) for t in (*model.parameters(), *model.buffers())}

    def leave(frame, out) -> None:
        if frame.has_row:
            traced.calls.append(call_label(frame.name, frame.call))

    stack = ModuleStack(model, rules, type(model).__name__, leave=leave)
    pack = _Saved(stack, root, traced, resident=set(params))  # _Charge adds weights' copies
    with (
        stack,
        mode(model, True),
        torch.enable_grad(),
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        _Charge(registry, stack, root, traced, params),
    ):
        try:
            out = model(*args, **kwargs)
        except RuleError:
            raise
        except Exception as exc:  # the user's model: one line, the cause kept for --debug
            where = owner(stack, root)[0] if stack.frames else "the model's own code"
            raise ForwardError(f"the training forward failed in {where}: {exc}") from exc
    return _finished(traced, pack.seen, (args, kwargs), out, targets)


def _finished(traced: Traced, seen: dict, inputs, out, targets) -> Traced:
    """The pass's bytes of inputs and outputs; rows that cost nothing left out, but first calls."""
    traced.saved_keys = set(seen)
    outs = {storage_key(t): storage_bytes(t) for t in _tensors(out)}
    traced.output_bytes = sum(outs.values())
    ins = {storage_key(t): storage_bytes(t) for t in _tensors(inputs)}
    traced.input_bytes = sum(b for k, b in ins.items() if k not in seen)
    traced.layers = {k: v for k, v in traced.layers.items() if _nonzero(v) or k in _firsts(targets)}
    return traced


class _Saved:
    """saved_tensors_hooks' pack: each storage autograd saves, charged once to the layer that
    saved it first (parameters and buffers are not activations)."""

    def __init__(self, stack: ModuleStack, root: str, traced: Traced, resident: set[int]):
        self.stack, self.root, self.traced, self.resident = stack, root, traced, resident
        self.seen: dict[int, torch.Tensor] = {}  # keeps saved storages alive: keys stay unique

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        key = storage_key(t)
        if key not in self.resident and key not in self.seen:
            self.seen[key] = t
            label, kind = owner(self.stack, self.root)
            self.traced.layers.setdefault(label, Tally(kind)).saved += storage_bytes(t)
        return t


def _firsts(targets) -> set[str]:
    return {call_label(name, 0) for name, _ in targets}


def _nonzero(t: Tally) -> bool:
    return bool(t.forward or t.input_grad or t.weight_grad or t.saved)
