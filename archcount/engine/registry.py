"""The rule registry: per-layer counting rules looked up along a module type's MRO."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Rule:
    """How one module type is counted: its kind and its connection formula."""

    kind: Kind
    fn: RuleFn | None


class RuleRegistry:
    """Module type -> Rule; subclasses inherit their nearest ancestor's rule."""

    def __init__(self, rules: Mapping[type, Rule] | None = None) -> None:
        self._rules: dict[type, Rule] = dict(rules or {})

    def register(
        self, *types: type, kind: Kind = Kind.LAYER, override: bool = False
    ) -> Callable[[RuleFn | None], RuleFn | None]:
        """Decorator: register `fn` for every type in `types`; refuses duplicates."""

        def decorate(fn: RuleFn | None) -> RuleFn | None:
            for t in types:
                if t in self._rules and not override:
                    raise RuleError(f"a rule for {t.__name__} is already registered")
                self._rules[t] = Rule(kind, fn)
            return fn

        return decorate

    def add(self, types: Iterable[type], kind: Kind, fn: RuleFn | None = None) -> None:
        """Register one rule for several types without a decorator."""
        self.register(*types, kind=kind)(fn)

    def lookup(self, module_type: type) -> Rule | None:
        """The rule of the nearest type in `module_type`'s MRO, or None (unsupported)."""
        for t in module_type.__mro__:
            if t in self._rules:
                return self._rules[t]
        return None

    def merged(self, extra: Mapping[type, Rule | RuleFn] | None) -> RuleRegistry:
        """A copy with `extra` rules (a bare function means Kind.LAYER) overriding ours."""
        out = RuleRegistry(self._rules)
        for t, r in (extra or {}).items():
            out._rules[t] = r if isinstance(r, Rule) else Rule(Kind.LAYER, r)
        return out

    def __contains__(self, module_type: type) -> bool:
        return self.lookup(module_type) is not None
