"""One forward that follows every tensor from the input: each op's and module's receptive field.

A TorchDispatchMode sees every aten op with the very tensor objects the model passes around,
so a field is kept per tensor (by identity; the tensors are kept alive for the pass so an id
is never reused) and each op's output gets the field its rule derives from its inputs' fields.
A residual add or a UNet concatenation unites the fields of both paths. Hooks record the
field of every counted module's output, and let a module with a rule of its own (by type)
set its output's field whatever ops run inside it.
"""

from __future__ import annotations

import torch
from torch.utils._pytree import tree_leaves

from archcount.engine.dispatch import DispatchMode
from archcount.engine.rules.field import GLOBAL_BROADCAST, Field, Mismatch
from archcount.engine.rules.registry import (
    FieldRule,
    Maps,
    Registry,
    Role,
    failure,
    identity,
    named_args,
)

UNKNOWN = None  # a tensor that depends on the input along a path no rule follows
_POINTWISE = FieldRule(Role.MERGE, None)  # relu, x + y, x * 0.5: position by position


def tensors(obj) -> list[torch.Tensor]:
    """The tensors inside nested args, in order."""
    return [t for t in tree_leaves(obj) if isinstance(t, torch.Tensor)]


class Tracer(DispatchMode):
    """Keeps tensor -> per-dim fields, and derives each op's output fields by its rule."""

    def __init__(self, registry: Registry, dims: int) -> None:
        super().__init__()
        self.registry, self.dims = registry, dims
        self.fields: dict[int, Maps | None] = {}
        self.alive: list[torch.Tensor] = []
        self.covered = 0  # > 0 inside a module whose own rule sets its output
        self.warnings: list[str] = []

    def track(self, outs: list[torch.Tensor], fields: Maps | None) -> None:
        """Give `outs` these fields (unknown for a tensor that lost the spatial dims)."""
        for t in outs:
            self.fields[id(t)] = fields if t.dim() >= self.dims else UNKNOWN
            self.alive.append(t)

    def field_of(self, t: torch.Tensor) -> Maps | None:
        """A tracked tensor's fields (UNKNOWN when no rule followed it)."""
        return self.fields[id(t)]

    def is_tracked(self, t: torch.Tensor) -> bool:
        """True when `t` depends on the network's input."""
        return id(t) in self.fields

    def warn(self, text: str) -> None:
        """Note a warning once."""
        if text not in self.warnings:
            self.warnings.append(text)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        ins = tensors((args, kwargs))
        if self.covered or not any(self.is_tracked(t) for t in ins):
            return out
        what = f"aten.{func.overloadpacket.__name__}"
        rule = self.registry.lookup(func)
        if rule is None and torch.Tag.pointwise in func.tags:
            rule = _POINTWISE
        outs = tensors(out)
        if rule is None:
            self.warn(f"{what}: no receptive-field rule; the fields after it are unknown")
            self.track(outs, UNKNOWN)
            return out
        shape = tuple(outs[0].shape) if outs else ()

        def call(fn):
            return fn(named_args(func, args, kwargs), shape, self.dims)

        self.track(outs, self.apply(what, rule, call, ins, shape))
        return out

    def apply(self, what: str, rule: FieldRule, call, ins, out_shape) -> Maps | None:
        """The output's fields: the rule's maps after the inputs' fields (united for MERGE)."""
        used = [t for t in ins if self.is_tracked(t)]
        if rule.role is Role.LOCAL:
            if any(self.is_tracked(t) for t in ins[1:]):  # a conv weight made from the input
                self.warn(f"{what}: an argument besides the first depends on the input; unknown")
                return UNKNOWN
            used = used[:1]
        try:
            maps = identity(self.dims) if rule.fn is None else call(rule.fn)
        except Exception as exc:  # a call the rule cannot follow: unknown, named
            self.warn(f"{what}: its receptive-field rule failed ({failure(exc)}); unknown")
            return UNKNOWN
        if maps is None:
            self.warn(f"{what}: a call its receptive-field rule cannot follow; unknown")
            return UNKNOWN
        maps = (*identity(self.dims - len(maps)), *maps)[-self.dims :]
        return self.united(what, used, maps, out_shape)

    def united(self, what: str, used, maps: Maps, out_shape) -> Maps | None:
        """Every used input's fields through `maps`, united dimension by dimension."""
        fields: Maps | None = None
        for t in used:
            mine = self.field_of(t)
            if mine is UNKNOWN or len(out_shape) < self.dims:
                return UNKNOWN
            sizes = zip(t.shape[t.dim() - self.dims :], out_shape[len(out_shape) - self.dims :])
            here = tuple(
                (GLOBAL_BROADCAST if i == 1 and o != 1 and m == Field.identity() else m).after(f)
                for m, f, (i, o) in zip(maps, mine, sizes)
            )
            try:
                fields = here if fields is None else tuple(a.union(b) for a, b in zip(fields, here))
            except Mismatch as exc:
                self.warn(f"{what}: inputs of different jumps merged ({exc}); unknown")
                return UNKNOWN
        return fields
