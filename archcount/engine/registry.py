"""The rule registries: module rules looked up along a type's MRO, aten-op rules by packet."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from archcount.errors import RuleError
from archcount.records import Kind

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Taps:
    """Connections of one call, whole batch: nominal (padding taps count) and exact."""

    nominal: int
    exact: int


# A rule sees the module and shapes (whole batch), never tensors; it returns Taps or an int
# (nominal == exact). None as a rule means "no connections to compute" (views).
RuleFn = Callable[[nn.Module, tuple[Shape, ...], tuple[Shape, ...]], "Taps | int"]
# Which of a module's parameters are biases (what include_bias=False leaves out).
BiasesFn = Callable[[nn.Module], Iterable["torch.Tensor | None"]]


def own_bias(module: nn.Module) -> tuple[torch.Tensor, ...]:
    """The module's own `bias` parameter, when it has one (conv, linear, bilinear, ...)."""
    bias = getattr(module, "bias", None)
    return (bias,) if isinstance(bias, torch.Tensor) else ()


@dataclass(frozen=True)
class Rule:
    """How one module type is counted: its kind, its connection formula, its biases."""

    kind: Kind
    fn: RuleFn | None
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


class _Registry:
    """Key -> rule: one decorator that refuses duplicates, and merged copies for overrides."""

    _rule: Callable[..., Any]  # Rule or OpRule: what a bare function becomes (Kind.LAYER)

    def __init__(self, rules: Mapping[Any, Any] | None = None) -> None:
        self._rules: dict[Any, Any] = dict(rules or {})

    def _key(self, x: Any) -> Any:
        return x

    def _label(self, key: Any) -> str:
        return key.__name__

    def _put(self, keys: Iterable[Any], rule: Any, override: bool) -> None:
        for key in map(self._key, keys):
            if key in self._rules and not override:
                raise RuleError(f"a rule for {self._label(key)} is already registered")
            self._rules[key] = rule

    def merged(self, extra: Mapping[Any, Any] | None):
        """A copy with `extra` rules (a bare function means Kind.LAYER) overriding ours."""
        out = type(self)(self._rules)
        for k, r in (extra or {}).items():
            out._rules[self._key(k)] = r if isinstance(r, self._rule) else self._rule(Kind.LAYER, r)
        return out

    def lookup(self, x: Any):
        raise NotImplementedError

    def __contains__(self, x: Any) -> bool:
        return self.lookup(x) is not None


class RuleRegistry(_Registry):
    """Module type -> Rule; subclasses inherit their nearest ancestor's rule."""

    _rule = Rule

    def register(
        self,
        *types: type,
        kind: Kind = Kind.LAYER,
        override: bool = False,
        biases: BiasesFn | None = None,
        covers_children: bool = True,
        outputs: Callable | None = None,
        batch: Callable | None = None,
    ) -> Callable[[RuleFn | None], RuleFn | None]:
        """Decorator: register `fn` for every type in `types`; refuses duplicates."""

        def decorate(fn: RuleFn | None) -> RuleFn | None:
            rule = Rule(kind, fn, biases, covers_children, outputs, batch)
            self._put(types, rule, override)
            return fn

        return decorate

    def own_code_only(self) -> None:
        """Every rule registered so far counts only its module's own code (the built-ins)."""
        self._rules = {k: replace(r, covers_children=False) for k, r in self._rules.items()}

    def add(self, types: Iterable[type], kind: Kind, fn: RuleFn | None = None) -> None:
        """Register one rule for several types without a decorator."""
        self.register(*types, kind=kind)(fn)

    def lookup(self, module_type: type) -> Rule | None:
        """The rule of the nearest type in `module_type`'s MRO, or None (unsupported)."""
        for t in module_type.__mro__:
            if t in self._rules:
                return self._rules[t]
        return None


# An op rule sees the op's args and kwargs with every tensor replaced by its shape (a tuple)
# and the shape of its first output; it returns the connections (whole batch), or None when
# it cannot tell. None as a rule means "storage, not arithmetic" (views, copies, indexing).
OpRuleFn = Callable[[tuple, dict[str, Any], Shape], "int | None"]
OpPacket = Any  # a torch._ops.OpOverloadPacket such as torch.ops.aten.mm


@dataclass(frozen=True)
class OpRule:
    """How one aten op is counted: its kind and its connection formula (None: storage)."""

    kind: Kind
    fn: OpRuleFn | None


class OpRegistry(_Registry):
    """Aten OverloadPacket -> OpRule; every overload of a packet shares its rule."""

    _rule = OpRule

    def _key(self, x: Any) -> Any:
        return getattr(x, "overloadpacket", x)  # aten.mm.default -> aten.mm

    def _label(self, key: Any) -> str:
        return f"aten.{key.__name__}"

    def register(
        self, *packets: OpPacket, kind: Kind = Kind.LAYER, override: bool = False
    ) -> Callable[[OpRuleFn | None], OpRuleFn | None]:
        """Decorator: register `fn` for every packet in `packets`; refuses duplicates."""

        def decorate(fn: OpRuleFn | None) -> OpRuleFn | None:
            self._put(packets, OpRule(kind, fn), override)
            return fn

        return decorate

    def add(self, packets: Iterable[OpPacket], kind: Kind, fn: OpRuleFn | None = None) -> None:
        """Register one rule for several packets without a decorator."""
        self.register(*packets, kind=kind)(fn)

    def lookup(self, func: Any) -> OpRule | None:
        """The rule of an op overload's packet (or of a packet itself), or None."""
        return self._rules.get(self._key(func))


def failure(exc: Exception) -> str:
    """'KeyError: first line of the message': how a rule's failure is reported."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
