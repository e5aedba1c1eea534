"""One module stack for every pass (count, training cost, receptive field, shapes).

In the spirit of torch.utils.module_tracker: forward pre/post hooks on every module of the
model, registered and removed in one try/finally, keep the frames of the running module
calls. One definition says which module calls get a row (`role`): a module with a rule
(which covers its own code, and its children too when the rule says so), and a leaf without
one (counted from its ops); a container without a rule has no row (its own code's ops are its
functional ops), nor has anything running inside a rule that covers its children. Rows are
numbered per module (its first, second ... call); a failed forward names the layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archcount.engine.rules.registry import Registry
from archcount.errors import ForwardError

# What a frame does with the ops its own code runs.
COVERED, COVERS_ALL, OPS, OWN = "covered", "covers_all", "ops", "own"


def roles(model: nn.Module, registry: Registry) -> dict[int, str]:
    """Each module's role: its rule covers its own code (and maybe its children), else ops/own."""
    out: dict[int, str] = {}
    for module in model.modules():
        rule = registry.lookup(type(module))
        if rule is not None:
            out[id(module)] = COVERS_ALL if rule.covers_children else COVERED
        else:
            out[id(module)] = OWN if next(module.children(), None) is not None else OPS
    return out


def row_modules(model: nn.Module, registry: Registry, root: str) -> list[tuple[str, nn.Module]]:
    """The modules whose calls get a row, in named_modules order: every module but containers
    without a rule, and those inside a module whose rule covers its children."""
    role_of = roles(model, registry)
    out, covering = [], []
    for name, module in model.named_modules():
        if any(c == "" or name.startswith(f"{c}.") for c in covering):
            continue
        role = role_of[id(module)]
        if role is COVERS_ALL:
            covering.append(name)
        if role is not OWN:
            out.append((name or root, module))
    return out


def shapes_of(obj: Any) -> tuple[tuple[int, ...], ...]:
    """Shapes of every tensor inside nested tuples, lists and dicts, in order."""
    if isinstance(obj, torch.Tensor):
        return (tuple(obj.shape),)
    if isinstance(obj, (tuple, list)):
        return tuple(s for item in obj for s in shapes_of(item))
    if isinstance(obj, dict):
        return tuple(s for item in obj.values() for s in shapes_of(item))
    return ()


@dataclass
class Frame:
    """One running module call; call -1: silent (inside a rule covering its children)."""

    name: str
    module: nn.Module
    role: str
    call: int
    inputs: tuple[tuple[int, ...], ...] = ()

    @property
    def has_row(self) -> bool:
        """True when this call gets a row of its own."""
        return self.call >= 0 and self.role is not OWN


# A pass's frames: (name, module, role, call, args, kwargs) -> a Frame (or a subclass)
FrameFactory = Callable[[str, nn.Module, str, int, tuple, dict], Frame]


def plain_frame(name, module, role, call, args, kwargs) -> Frame:
    """A Frame with its input shapes when it gets a row."""
    frame = Frame(name, module, role, call)
    if frame.has_row:
        frame.inputs = shapes_of((args, kwargs))
    return frame


class ModuleStack:
    """Hooks on every module keeping the running frames; a pass's callbacks see each call."""

    def __init__(
        self,
        model: nn.Module,
        registry: Registry,
        root: str,
        frame: FrameFactory = plain_frame,
        enter: Callable[[Frame], None] | None = None,
        leave: Callable[[Frame, Any], None] | None = None,
    ) -> None:
        self.model, self.root, self._frame = model, root, frame
        self._enter, self._leave = enter, leave
        self.roles = roles(model, registry)
        self.frames: list[Frame] = []
        self.calls: dict[int, int] = {}  # id(module) -> its calls so far (silent ones aside)
        self.last: tuple[str, tuple] | None = None  # the last row call: name, output shapes
        self._handles: list = []

    def _pre(self, name: str):
        def hook(module, args, kwargs):
            role = self.roles[id(module)]
            if self.frames and self.frames[-1].role is COVERS_ALL:
                frame = self._frame(name, module, COVERS_ALL, -1, args, kwargs)
            else:
                n = self.calls.get(id(module), 0)
                self.calls[id(module)] = n + 1
                frame = self._frame(name, module, role, n, args, kwargs)
            self.frames.append(frame)
            if self._enter is not None:
                self._enter(frame)

        return hook

    def _post(self, module, args, kwargs, out) -> None:
        frame = self.frames.pop()
        if frame.has_row:
            self.last = (frame.name, shapes_of(out))
        if self._leave is not None:
            self._leave(frame, out)

    def __enter__(self) -> ModuleStack:
        self._handles = hook_modules(
            (module, self._pre(name or self.root), self._post)
            for name, module in self.model.named_modules()
        )
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def owner(self) -> Frame | None:
        """The innermost running call with a row, or None (the model's own code)."""
        return next((f for f in reversed(self.frames) if f.has_row), None)

    def forward_error(self, exc: Exception, inputs, what: str = "forward", hint: str = ""):
        """A ForwardError naming the layer that failed and its input shapes."""
        text = str(exc).strip()
        msg = text.splitlines()[0] if text else type(exc).__name__
        frame = self.owner()
        if frame is not None:
            where = f"layer {frame.name} ({type(frame.module).__name__}) on input shape "
            where += _fmt(frame.inputs)
        elif self.last is not None:
            name, outs = self.last
            where = f"the model's own code after layer {name} (output shape {_fmt(outs)})"
        else:
            where = f"the model's own code before any layer, on input shape {_fmt(inputs)}"
        return ForwardError(f"{what} failed in {where}: {msg}{hint}")


def _fmt(shapes) -> str:
    return ", ".join("x".join(map(str, s)) for s in shapes) or "()"


def hook_modules(hooks: Iterable[tuple[nn.Module, Any, Any]]) -> list:
    """Register each (module, pre, post) pair of forward hooks (with kwargs); the handles. If
    registering fails part-way, those made are removed first."""
    handles: list = []
    try:
        for module, pre, post in hooks:
            handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(module.register_forward_hook(post, with_kwargs=True))
    except BaseException:
        for h in handles:
            h.remove()
        raise
    return handles


@contextlib.contextmanager
def mode(model: nn.Module, training: bool) -> Iterator[None]:
    """The model in train (or eval) mode; every module's own flag restored afterwards."""
    modes = {m: m.training for m in model.modules()}
    model.train(training)
    try:
        yield
    finally:
        for m, flag in modes.items():
            m.training = flag
