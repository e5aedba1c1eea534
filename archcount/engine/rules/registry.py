"""One Registry class for every quantity: module rules, forward, backward and field op rules.

A key is a module type (looked up along its MRO, so subclasses inherit their nearest
ancestor's rule; never the bare nn.Module) or an aten op (an overload is normalised to its
OverloadPacket, so every overload shares the packet's rule). Registering a key twice is
refused; `merged` gives a copy with a user's overrides. What a rule is differs per quantity
(Rule, OpRule, FieldRule, BackwardRule); the registry does not look inside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_map

from archcount.engine.rules.field import Field
from archcount.errors import RuleError
from archcount.records import Kind

Shape = tuple[int, ...]
Maps = tuple[Field, ...]  # one local map per spatial dim, from output to input positions
aten = torch.ops.aten


@dataclass(frozen=True)
class Taps:
    """Connections of one call, whole batch: nominal (padding taps count) and exact."""

    nominal: int
    exact: int


# A module rule sees the module and shapes (whole batch), never tensors; it returns Taps or an
# int (nominal == exact). None as a rule means "no connections to compute" (views).
RuleFn = Callable[[nn.Module, tuple[Shape, ...], tuple[Shape, ...]], "Taps | int"]
# Which of a module's parameters are biases (what include_bias=False leaves out).
BiasesFn = Callable[[nn.Module], Iterable["torch.Tensor | None"]]
# An op rule sees the op's arguments by schema name (named_args: tensors as shapes) and its
# first output's shape; a forward rule returns the connections (whole batch), or None when
# it cannot tell. None as a rule means "storage, not arithmetic" (views, copies, indexing).
OpRuleFn = Callable[[dict[str, Any], Shape], "Taps | int | None"]


def own_bias(module: nn.Module) -> tuple[torch.Tensor, ...]:
    """The module's own `bias` parameter, when it has one (conv, linear, bilinear, ...)."""
    bias = getattr(module, "bias", None)
    return (bias,) if isinstance(bias, torch.Tensor) else ()


@dataclass(frozen=True)
class Rule:
    """How one module type is counted: its kind, its connection formula, its biases."""

    kind: Kind = Kind.LAYER
    fn: RuleFn | None = None
    biases: BiasesFn | None = None  # None: the module's own `bias` attribute
    # True: the rule counts the module whole, children included (a user's rule for a block);
    # False: only the module's own code, its children that run are counted on their own rows
    # (the built-in layer rules: a BatchNorm2d subclass with an `act` child still counts it).
    covers_children: bool = True
    # Units of one call, whole batch (None: the elements of every output tensor).
    outputs: Callable[[nn.Module, tuple[Shape, ...], tuple[Shape, ...]], int] | None = None
    # The batch of one call from its input shapes (None: the run's batch, when inputs carry it).
    batch: Callable[[nn.Module, tuple[Shape, ...]], int] | None = None

    def biases_of(self, module: nn.Module) -> tuple[torch.Tensor, ...]:
        """The parameters of `module` this rule declares biases."""
        if self.biases is None:
            return own_bias(module)
        return tuple(p for p in self.biases(module) if p is not None)


@dataclass(frozen=True)
class OpRule:
    """How one aten op is counted forward: its kind and its formula (None: storage)."""

    kind: Kind = Kind.LAYER
    fn: OpRuleFn | None = None


@dataclass(frozen=True)
class Grads:
    """One op's forward MACs, its gradient MACs per tensor argument name, shared backward work."""

    forward: int
    per_arg: dict[str, int] = field(default_factory=dict)
    shared: int = 0


@dataclass(frozen=True)
class BackwardRule:
    """How one aten op's backward is priced: fn(named args, out) -> Grads."""

    fn: Callable[[dict[str, Any], Shape], Grads] | None = None


class Role(str, Enum):
    """Which inputs a receptive-field rule's maps apply to."""

    LOCAL = "local"  # the first tensor argument only (conv, pool, upsample, pad, crop)
    MERGE = "merge"  # every argument that depends on the input, united (add, norm, cat)


@dataclass(frozen=True)
class FieldRule:
    """How a module type or aten op moves receptive fields; fn None: identity maps.

    An op's fn sees (named args, output shape, dims), a module's (module, input shapes,
    output shapes, dims); both return one Field per spatial dim, or None (cannot follow).
    """

    role: Role = Role.LOCAL
    fn: Callable[..., Maps | None] | None = None


def _key(x: Any) -> Any:
    return getattr(x, "overloadpacket", x)  # aten.mm.default -> aten.mm


def _label(key: Any) -> str:
    name = getattr(key, "__name__", repr(key))
    return name if isinstance(key, type) else f"aten.{name}"


class Registry:
    """Module type or aten op -> rule record: one decorator refusing duplicates, merged copies."""

    def __init__(self, record: type, rules: Mapping[Any, Any] | None = None) -> None:
        self.record = record  # what a bare function becomes: record(fn=fn)
        self._rules: dict[Any, Any] = dict(rules or {})

    def register(self, *keys: Any, override: bool = False, **how: Any) -> Callable:
        """Decorator: record(fn=fn, **how) is the rule of every key; refuses duplicates."""

        def decorate(fn):
            rule = self.record(fn=fn, **how)
            for key in map(_key, keys):
                if key in self._rules and not override:
                    raise RuleError(f"a rule for {_label(key)} is already registered")
                self._rules[key] = rule
            return fn

        return decorate

    def add(self, keys: Iterable[Any], fn: Callable | None = None, **how: Any) -> None:
        """Register one rule for several keys without a decorator."""
        self.register(*keys, **how)(fn)

    def merged(self, extra: Mapping[Any, Any] | None) -> Registry:
        """A copy with `extra` rules (a bare function means record(fn=it)) overriding ours."""
        out = Registry(self.record, self._rules)
        for key, r in (extra or {}).items():
            out._rules[_key(key)] = r if isinstance(r, self.record) else self.record(fn=r)
        return out

    def own_code_only(self) -> None:
        """Every module rule registered so far counts only its module's own code (built-ins)."""
        self._rules = {k: replace(r, covers_children=False) for k, r in self._rules.items()}

    def lookup(self, x: Any) -> Any:
        """The rule of a module type (nearest in its MRO, never nn.Module) or op, or None."""
        if isinstance(x, type):
            for t in x.__mro__:
                if t is nn.Module:
                    return None
                if t in self._rules:
                    return self._rules[t]
            return None
        return self._rules.get(_key(x))

    def __contains__(self, x: Any) -> bool:
        return self.lookup(x) is not None


def identity(dims: int) -> Maps:
    """Maps that read each position itself."""
    return (Field.identity(),) * dims


def present(*names: str) -> list:
    """The packets of `names` this torch build has (newer kernels are missing from older ones)."""
    return [getattr(aten, n) for n in names if hasattr(aten, n)]


def as_shapes(obj):
    """`obj` (nested args) with every tensor replaced by tuple(tensor.shape)."""
    return tree_map(lambda v: tuple(v.shape) if isinstance(v, torch.Tensor) else v, obj)


def named_args(func, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The op's arguments by schema name (defaults filled in), tensors as their shapes."""
    return as_shapes(schema_args(func, args, kwargs))


def schema_args(func, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The op's arguments by schema name, defaults filled in, tensors as they are.

    A higher-order op (flex_attention) has no schema: its positional args are arg0, arg1, ...
    """
    schema = getattr(func, "_schema", None)
    if schema is None:
        return {**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}
    out: dict[str, Any] = {}
    for i, arg in enumerate(schema.arguments):
        if i < len(args) and not arg.kwarg_only:
            out[arg.name] = args[i]
        elif arg.name in kwargs:
            out[arg.name] = kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
    return out


def failure(exc: Exception) -> str:
    """'KeyError: first line of the message': how a rule's failure is reported."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


RULES = Registry(Rule)  # module type -> Rule (the count's layers)
OP_RULES = Registry(OpRule)  # aten op -> OpRule (forward connections)
BACKWARD_RULES = Registry(BackwardRule)  # aten op -> BackwardRule (a training step's MACs)
FIELD_RULES = Registry(FieldRule)  # module type or aten op -> FieldRule (receptive fields)
rule = RULES.register
op_rule = OP_RULES.register
backward_rule = BACKWARD_RULES.register
field_rule = FIELD_RULES.register
