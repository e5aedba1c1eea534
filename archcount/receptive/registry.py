"""The receptive-field rules: one registry keyed by module type (along the MRO) or aten op.

A rule gives, for each spatial dimension of its output (the last `dims` sizes), the local
map from its output positions to its input positions (a Field). LOCAL rules apply it to the
op's first tensor argument (a conv's data, never its weight); MERGE rules apply it to every
tensor argument that depends on the network's input and take the union (adds, norms,
channel concatenation). A rule returns None when it cannot follow a call (a concatenation
along a spatial dimension): the field is then unknown from there on, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from torch import nn

from archcount.errors import RuleError
from archcount.receptive.field import Field

Maps = tuple[Field, ...]
# Op rules see (args, kwargs, output shape, dims) with every tensor replaced by its shape;
# module rules see (module, input shapes, output shapes, dims). Both return Maps or None.
FieldFn = Callable[..., "Maps | None"]


class Role(str, Enum):
    """Which inputs a rule's maps apply to."""

    LOCAL = "local"  # the first tensor argument only (conv, pool, upsample, pad, crop)
    MERGE = "merge"  # every argument that depends on the input, united (add, norm, cat)


@dataclass(frozen=True)
class FieldRule:
    """How one module type or aten op moves receptive fields; fn None: identity maps."""

    role: Role
    fn: FieldFn | None


class FieldRegistry:
    """Module type or aten OverloadPacket -> FieldRule; duplicates refused."""

    def __init__(self, rules: Mapping[Any, FieldRule] | None = None) -> None:
        self._rules: dict[Any, FieldRule] = dict(rules or {})

    @staticmethod
    def _key(x: Any) -> Any:
        return getattr(x, "overloadpacket", x)  # aten.convolution.default -> aten.convolution

    def register(
        self, *keys: Any, role: Role = Role.LOCAL, override: bool = False
    ) -> Callable[[FieldFn | None], FieldFn | None]:
        """Decorator: `fn` is the rule of every module type or aten op in `keys`."""

        def decorate(fn: FieldFn | None) -> FieldFn | None:
            for key in map(self._key, keys):
                if key in self._rules and not override:
                    raise RuleError(f"a receptive-field rule for {_label(key)} is registered")
                self._rules[key] = FieldRule(role, fn)
            return fn

        return decorate

    def add(self, keys: Iterable[Any], role: Role, fn: FieldFn | None = None) -> None:
        """Register one rule for several keys without a decorator."""
        self.register(*keys, role=role)(fn)

    def merged(self, extra: Mapping[Any, FieldRule | FieldFn] | None) -> FieldRegistry:
        """A copy with `extra` (a bare function means a LOCAL rule) overriding ours."""
        out = FieldRegistry(self._rules)
        for key, r in (extra or {}).items():
            out._rules[self._key(key)] = r if isinstance(r, FieldRule) else FieldRule(Role.LOCAL, r)
        return out

    def for_module(self, module_type: type) -> FieldRule | None:
        """The rule of the nearest type in the MRO (never the bare nn.Module), or None."""
        for t in module_type.__mro__:
            if t is nn.Module:
                return None
            if t in self._rules:
                return self._rules[t]
        return None

    def for_op(self, func: Any) -> FieldRule | None:
        """The rule of an aten op overload's packet, or None."""
        return self._rules.get(self._key(func))


def _label(key: Any) -> str:
    name = getattr(key, "__name__", repr(key))
    return name if isinstance(key, type) else f"aten.{name}"
