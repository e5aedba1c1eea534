"""Declared closed forms without sympy: exact evaluation, display and conditions in words.

A model declares each total as a Python-syntax string in its own symbols, e.g.
"k**2*(NIC*NF + 4*NF**2 + NF*NC + NC**2) + 12*NF + 4*NC", and which constructor argument or
input size each symbol stands for (`Symbols`). The main command evaluates a formula exactly
(Fractions) and shows it without importing sympy, which keeps start-up fast; `derive` and
`check` turn the same string into a sympy expression (`Formula.expr`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from archcount.formulas.syntax import QUANTITIES, evaluate, mod_words, names_in

__all__ = ["QUANTITIES", "Formula", "Symbols", "condition_words", "pretty", "size_names"]

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def pretty(text: str) -> str:
    """docs/counting.md's style: 'k**2*(NIC*NF + 4*NF**2) + 12*NF' -> 'k²(NIC·NF + 4NF²) + 12NF'."""
    out = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    out = re.sub(r"(?<![\w./])(\d+)\*(?=[A-Za-z(])", r"\1", out)  # 12*NF -> 12NF
    out = re.sub(r"([⁰¹²³⁴⁵⁶⁷⁸⁹)])\*\(", r"\1(", out)  # k²*( -> k²(
    return out.replace("*", "·").replace(" - ", " − ")


def condition_words(text: str) -> str:
    """'k % 2 == 1' -> 'k odd'; 'S % 4 == 0' -> 'S a multiple of 4'; 'S >= k - 1' -> 'S ≥ k - 1'."""
    m = re.fullmatch(r"\s*(\w+)\s*%\s*(\d+)\s*==\s*(\d+)\s*", text)
    if m:
        return mod_words(m.group(1), int(m.group(2)), int(m.group(3)))
    return text.replace(">=", "≥").replace("<=", "≤").replace("*", "·")


@dataclass(frozen=True)
class Symbols:
    """What a model's formula symbols stand for: constructor arguments and input sizes.

    params: symbol -> constructor argument, e.g. {"NF": "num_filters"}.
    input: the per-example input shape in symbols and integers, e.g. ("NIC", "S", "S"): a
      param's symbol there is also that size (NIC channels); another name is an input size.
    defaults: values of the input-size symbols when nothing else gives one, e.g. {"S": 32}.
    outer: symbols a closed form shows as common factors, e.g. ("k", "S"): k²(NIC·NF + …).
    """

    params: Mapping[str, str] = field(default_factory=dict)
    input: tuple[str | int, ...] = ()
    defaults: Mapping[str, int] = field(default_factory=dict)
    outer: tuple[str, ...] = ()

    @property
    def sizes(self) -> tuple[str, ...]:
        """The input-size symbols of the declared input."""
        return size_names(self.input, self.params)

    def shape(self, values: Mapping[str, int]) -> tuple[int, ...]:
        """The per-example input shape at symbol values."""
        return tuple(values[x] if isinstance(x, str) else x for x in self.input)

    def read(self, arguments: Mapping[str, object], shape: tuple[int | str, ...]) -> dict[str, int]:
        """Symbol values of one count: integer arguments, and sizes read off the input shape.

        A size symbol is read only when every position that names it agrees (S of a square).
        """
        values = {s: v for s, p in self.params.items() if _is_int(v := arguments.get(p))}
        if len(shape) == len(self.input):
            for name in self.sizes:
                seen = {n for x, n in zip(self.input, shape) if x == name}
                if len(seen) == 1 and _is_int(size := seen.pop()):  # a symbol there is no size
                    values[name] = size
        return values


def size_names(shape: tuple[str | int, ...], params: Mapping[str, str]) -> tuple[str, ...]:
    """The input-size symbols of a symbolic shape: its names that are no constructor argument."""
    return tuple(dict.fromkeys(x for x in shape if isinstance(x, str) and x not in params))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Formula:
    """A declared closed form of one total, and the conditions under which it holds."""

    quantity: str
    source: str  # Python syntax in the model's symbols
    conditions: tuple[str, ...] = ()  # e.g. "k % 2 == 1", "S >= 2*(k - 1)"

    @property
    def names(self) -> set[str]:
        """Variables of the formula and of its conditions."""
        return set().union(names_in(self.source), *(names_in(c) for c in self.conditions))

    def applies(self, values: Mapping[str, int]) -> bool:
        """True when every condition holds at `values` (symbol name -> int)."""
        return not self.unmet(values)

    def unmet(self, values: Mapping[str, int]) -> list[str]:
        """The conditions that fail at `values`, in words."""
        return [condition_words(c) for c in self.conditions if not evaluate(c, values)]

    def value(self, values: Mapping[str, int]) -> int | Fraction:
        """The formula at `values`; an int when it evaluates to one."""
        result = evaluate(self.source, values)
        return int(result) if result.denominator == 1 else result

    def display(self) -> str:
        """The formula as docs/counting.md writes formulas."""
        return pretty(self.source)

    @cached_property
    def expr(self):
        """The sympy expression (imports sympy: for derive and check, not for counting)."""
        from archcount.formulas.symbolic import sympy_of

        return sympy_of(self.source)

    @cached_property
    def holds(self) -> tuple:
        """The conditions as sympy relations."""
        from archcount.formulas.symbolic import sympy_of

        return tuple(sympy_of(c) for c in self.conditions)
