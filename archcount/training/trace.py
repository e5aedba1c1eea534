"""One training-mode forward: per layer, the backward rules' MACs and the storages saved.

Nothing runs backward. The forward runs with grad enabled, in train mode, under a
TorchDispatchMode (every aten op with a backward rule is charged to the innermost counted
module running it, its gradients only for arguments that require grad) and under
saved_tensors_hooks (each storage autograd saves is charged once, to the layer that saved it
first; parameters and buffers are not activations).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from archcount.engine.record import hook_modules
from archcount.engine.rules.registry import Grads, Registry, as_shapes, schema_args
from archcount.engine.rules.storage import COPIES
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


def storage_key(t: torch.Tensor) -> int:
    """One number per storage: views of one tensor share it."""
    return t.untyped_storage()._cdata


def storage_bytes(t: torch.Tensor) -> int:
    """Bytes of the whole storage `t` views."""
    return t.untyped_storage().nbytes()


class _Stack:
    """The module stack kept by forward hooks: (row label or None, module name)."""

    def __init__(self, root: str, counted: dict[int, str]) -> None:
        self.root, self.counted = root, counted
        self.frames: list[tuple[str | None, str, str]] = []
        self.calls: dict[int, int] = {}

    def owner(self) -> tuple[str, str]:
        """(label, type) of the innermost counted module, else of the innermost module."""
        for label, _, kind in reversed(self.frames):
            if label is not None:
                return label, kind
        if self.frames:
            return f"{self.frames[-1][1] or self.root} (own code)", "ops"
        return f"{self.root} (own code)", "ops"

    def hooks(self, model: nn.Module) -> list:
        """Pre/post hooks on every module; the caller removes them."""

        def pre(name):
            def hook(module, a):
                label = None
                if id(module) in self.counted:
                    n = self.calls.get(id(module), 0)
                    self.calls[id(module)] = n + 1
                    label = call_label(self.counted[id(module)], n)
                self.frames.append((label, name, type(module).__name__))

            return hook

        def post(module, a, out):
            self.frames.pop()

        return hook_modules(
            ((module, pre(name), post) for name, module in model.named_modules()),
            with_kwargs=False,
        )


class _Charge(TorchDispatchMode):
    """Runs each op; one with a backward rule is charged to the current layer."""

    def __init__(self, registry: Registry, stack: _Stack, traced: Traced, params: set[int]):
        super().__init__()
        self.registry, self.stack, self.traced, self.params = registry, stack, traced, params

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
        label, kind = self.stack.owner()
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


@contextlib.contextmanager
def train_mode(model: nn.Module) -> Iterator[None]:
    """The model in train mode; every module's flag restored afterwards."""
    modes = {m: m.training for m in model.modules()}
    model.train()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def trace(
    model: nn.Module,
    args: tuple,
    targets,
    registry: Registry,
    root: str,
    kwargs: dict | None = None,
) -> Traced:
    """The training-mode forward of `model(*args, **kwargs)` (grad enabled), per layer."""
    kwargs = kwargs or {}
    traced = Traced()
    counted = {id(m): name for name, m in targets}
    for name, m in targets:
        traced.layers.setdefault(call_label(name, 0), Tally(type(m).__name__))
    params = {storage_key(t) for t in (*model.parameters(), *model.buffers())}
    resident = set(params)  # parameters and buffers are not activations
    stack = _Stack(root, counted)
    seen: dict[int, torch.Tensor] = {}  # keeps saved storages alive: keys stay unique

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = storage_key(t)
        if key not in resident and key not in seen:
            seen[key] = t
            label, kind = stack.owner()
            traced.layers.setdefault(label, Tally(kind)).saved += storage_bytes(t)
        return t

    handles = stack.hooks(model)
    try:
        with (
            train_mode(model),
            torch.enable_grad(),
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
            _Charge(registry, stack, traced, params),
        ):
            try:
                out = model(*args, **kwargs)
            except RuleError:
                raise
            except Exception as exc:  # the user's model: one line, the cause kept for --debug
                where = stack.owner()[0] if stack.frames else "the model's own code"
                raise ForwardError(f"the training forward failed in {where}: {exc}") from exc
    finally:
        for h in handles:
            h.remove()
    traced.saved_keys = set(seen)
    outs = {storage_key(t): storage_bytes(t) for t in _tensors(out)}
    traced.output_bytes = sum(outs.values())
    ins = {storage_key(t): storage_bytes(t) for t in _tensors((args, kwargs))}
    traced.input_bytes = sum(b for k, b in ins.items() if k not in seen)
    traced.layers = {k: v for k, v in traced.layers.items() if _nonzero(v) or k in _firsts(targets)}
    return traced


def _firsts(targets) -> set[str]:
    return {call_label(name, 0) for name, _ in targets}


def _nonzero(t: Tally) -> bool:
    return bool(t.forward or t.input_grad or t.weight_grad or t.saved)
