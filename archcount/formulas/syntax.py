"""The syntax of formulas and conditions: our own tokenizer, parser and tree, on a whitelist.

A formula is numbers, names and + - * / ** ^ ( ), with products as on paper (`12NF`, `k²`,
`NF·NC`, `2 NF`); a condition adds % and one comparison. Nothing else is read: no calls,
attributes, subscripts, strings or lambdas reach any parser of Python, and nothing is
evaluated until the tree has been checked (names, size, nesting, exponents, degree). The one
parser behind exact evaluation (Fractions, closed_form) and sympy forms (symbolic).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction

from archcount.errors import FormulaError

QUANTITIES = ("weights", "outputs", "connections", "connections_exact")

MAX_LENGTH = 2000  # characters: the homework's longest closed form has about 300
MAX_DEPTH = 40  # nested brackets, signs and exponents
MAX_EXPONENT = 64  # |n| in x**n; an exponent is a whole number written with constants
MAX_DEGREE = 8  # total degree: sympy expands (NIC+NF+NC+k+S+1)**8 in 0.4 s; the homework has 6
MAX_BITS = 4096  # a constant's numerator and denominator, as folded from powers

_TOKEN = re.compile(
    r"(?P<space>[ \t]+)|(?P<number>[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹]+)|(?P<op>\*\*|==|>=|<=|[-+*/^%()<>·×−≥≤])"
)
_SPELLING = {"·": "*", "×": "*", "−": "-", "^": "**", "≥": ">=", "≤": "<="}
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_ARITHMETIC = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
_COMPARE = {
    "==": operator.eq,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Node:
    """One node of a checked formula tree.

    kind: 'num' (value: Fraction), 'name' (value: str), 'neg' (args: (x,)), 'pow' (args:
    (base,), value: int exponent), 'chain' (args: operands, value: the operators between
    them, all + - or all * / %), 'compare' (args: (left, right), value: the operator).
    """

    kind: str
    value: object = None
    args: tuple[Node, ...] = ()


def shown(text: str, limit: int = 60) -> str:
    """`text` quoted for an error line: control characters escaped, long text cut."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: number, name, sup (superscript digits) or op, spellings unified."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula too long: {len(text)} characters (at most {MAX_LENGTH})")
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            where = f"unexpected {text[i]!r} at position {i + 1}"
            allowed = "numbers, names, + - * / ^ ( )"
            raise FormulaError(f"cannot parse {shown(text)}: {where} ({allowed})")
        if m.lastgroup != "space":
            out.append((m.lastgroup, _SPELLING.get(m.group(), m.group())))
        i = m.end()
    return out


class _Parser:
    """Precedence climbing over tokens; chains are loops, so only brackets nest."""

    def __init__(self, text: str, conditions: bool):
        self.text, self.conditions = text, conditions
        self.toks, self.i, self.depth = tokens(text), 0, 0

    def fail(self, what: str) -> FormulaError:
        return FormulaError(f"cannot parse {shown(self.text)}: {what}")

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise self.fail("empty formula")
        node = self.sum()
        kind, tok = self.peek()
        if kind == "op" and tok in _COMPARE and self.conditions:
            self.take()
            node = Node("compare", tok, (node, self.sum()))
        if self.peek()[0] != "end":
            raise self.fail(f"unexpected {self.peek()[1]!r}")
        return node

    def sum(self) -> Node:
        args, ops = [self.term()], []
        while self.peek() in (("op", "+"), ("op", "-")):
            ops.append(self.take()[1])
            args.append(self.term())
        return args[0] if not ops else Node("chain", tuple(ops), tuple(args))

    def term(self) -> Node:
        products = ("*", "/", "%") if self.conditions else ("*", "/")
        args, ops = [self.unary()], []
        while True:
            kind, tok = self.peek()
            if kind == "op" and tok in products:
                ops.append(self.take()[1])
            elif not (kind in ("number", "name") or (kind, tok) == ("op", "(")):
                break
            elif kind == "number" and self.toks[self.i - 1][0] == "number":
                raise self.fail(f"two numbers in a row ({self.toks[self.i - 1][1]} {tok})")
            else:  # an operand right after an operand: a product, as on paper
                ops.append("*")
            args.append(self.unary())
        return args[0] if not ops else Node("chain", tuple(ops), tuple(args))

    def unary(self) -> Node:
        self.nest(1)
        if self.peek() in (("op", "-"), ("op", "+")):
            sign = self.take()[1]
            inner = self.unary()
            node = Node("neg", args=(inner,)) if sign == "-" else inner
        else:
            node = self.power()
        self.nest(-1)
        return node

    def power(self) -> Node:
        base = self.atom()
        if self.peek()[0] == "sup":
            written = Node("num", Fraction(self.take()[1].translate(_SUPERSCRIPT)))
            base = Node("pow", _exponent(written, self), (base,))
        if self.peek() == ("op", "**"):
            self.take()
            exponent = self.unary()  # right-associative, and 2**-1 is allowed
            base = Node("pow", _exponent(exponent, self), (base,))
        return base

    def atom(self) -> Node:
        kind, tok = self.take()
        if kind == "number":
            return Node("num", Fraction(tok))
        if kind == "name":
            return Node("name", tok)
        if (kind, tok) == ("op", "("):
            node = self.sum()
            if self.take() != ("op", ")"):
                raise self.fail("missing ')'")
            return node
        raise self.fail("formula ends too early" if kind == "end" else f"unexpected {tok!r}")

    def nest(self, step: int) -> None:
        self.depth += step
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} deep")


def _exponent(node: Node, parser: _Parser) -> int:
    """The value of an exponent: a whole number written with constants, |n| <= MAX_EXPONENT."""
    value = constant(node)
    if value is None:
        raise parser.fail("an exponent must be a number, not a variable")
    if value.denominator != 1:
        raise parser.fail(f"exponent {value} is not a whole number")
    if abs(value) > MAX_EXPONENT:
        raise parser.fail(f"exponent {_short(value)} is too large (at most {MAX_EXPONENT})")
    return int(value)


def constant(node: Node) -> Fraction | None:
    """The exact value of a tree without names, else None; every number in it, written or
    folded, within MAX_BITS."""
    if node.kind == "name":
        return None
    if node.kind == "num":
        return _bounded(node.value)
    values = [constant(a) for a in node.args]
    if any(v is None for v in values):
        return None
    try:
        result = _apply(node, values)
    except ZeroDivisionError:
        raise FormulaError("division by zero in a formula") from None
    return _bounded(result) if isinstance(result, Fraction) else result


def _bounded(value: Fraction) -> Fraction:
    if _bits(value) > MAX_BITS:
        raise FormulaError(f"a number in the formula has more than {MAX_BITS} bits")
    return value


def _zero_divisor(tree: Node) -> bool:
    """True when a divisor in `tree` (of /, % or a negative power) is zero for every value of
    its names, where sympy would fold the quotient to zoo."""
    if any(_zero_divisor(a) for a in tree.args):
        return True
    divisors: list[Node] = []
    if tree.kind == "pow" and tree.value < 0:
        divisors = [tree.args[0]]
    elif tree.kind == "chain":
        divisors = [a for op, a in zip(tree.value, tree.args[1:]) if op in "/%"]
    # zero (or undefined) at three fixed points of 31-bit values: a nonzero divisor of degree
    # <= MAX_DEGREE is not, short of one built for these points (Schwartz-Zippel)
    return any(not any(_at(d, point) for point in _POINTS) for d in divisors)


def _at(tree: Node, point: int) -> Fraction:
    """`tree` at the `point`-th fixed point (0 where a division there is undefined)."""
    try:
        return fold(tree, lambda n: Fraction(_coordinate(n, point)), lambda q: q)
    except ZeroDivisionError:
        return Fraction(0)


_POINTS = range(3)


def _coordinate(name: str, point: int) -> int:
    """A fixed 31-bit value for `name` at point `point`: distinct across names and points."""
    seed = int.from_bytes(f"{point}:{name}".encode(), "big")
    return 2**30 + (seed * 6364136223846793005 + 1442695040888963407) % 2**30


def degree(node: Node) -> int:
    """An upper bound on the total degree of the tree as a polynomial (divisions add)."""
    if node.kind in ("num", "name"):
        return int(node.kind == "name")
    if node.kind == "pow":
        return degree(node.args[0]) * abs(node.value)
    parts = [degree(a) for a in node.args]
    if node.kind == "chain" and node.value[0] not in "+-":
        return sum(parts)
    return max(parts)


def names_of(node: Node) -> set[str]:
    """Every name the tree uses."""
    if node.kind == "name":
        return {node.value}
    return set().union(*(names_of(a) for a in node.args))


def parse(text: str, known: Collection[str] | None = None, conditions: bool = False) -> Node:
    """`text` as a checked tree; `known` (when given) the only names allowed.

    conditions=True also allows % and one comparison (a declared formula's conditions).
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula is a string, got {type(text).__name__}")
    tree = _Parser(text, conditions).parse()
    constant(tree)  # refuses division by zero and huge numbers before anything is built
    if known is not None:
        unknown = sorted(names_of(tree) - set(known))
        if unknown:
            s = "s" if len(unknown) > 1 else ""
            raise FormulaError(
                f"unknown name{s} {', '.join(unknown)} in {shown(text)}: "
                f"use {', '.join(known) or 'numbers only'}"
            )
    if degree(tree) > MAX_DEGREE:
        raise FormulaError(f"{shown(text)} has degree {degree(tree)} (at most {MAX_DEGREE})")
    if _zero_divisor(tree):
        raise FormulaError(f"division by zero in {shown(text)}: a divisor is zero for every value")
    return tree


def fold(tree: Node, name: Callable, number: Callable, compare: Mapping = _COMPARE):
    """Build a checked tree bottom-up from name(str) and number(Fraction) leaves."""
    if tree.kind == "name":
        return name(tree.value)
    if tree.kind == "num":
        return number(tree.value)
    values = [fold(a, name, number, compare) for a in tree.args]
    if tree.kind == "compare":
        return compare[tree.value](*values)
    return _apply(tree, values)


def _apply(node: Node, values: list):
    if node.kind == "neg":
        return -values[0]
    if node.kind == "pow":
        return values[0] ** node.value
    if node.kind == "compare":
        return _COMPARE[node.value](*values)
    result = values[0]
    for op, value in zip(node.value, values[1:]):
        result = _ARITHMETIC[op](result, value)
    return result


def walk(text: str, name: Callable, number: Callable, compare: Mapping = _COMPARE):
    """Parse a declared formula or condition (% and one comparison allowed), then fold it."""
    return fold(parse(text, conditions=True), name, number, compare)


def evaluate(text: str, values: Mapping[str, int]) -> Fraction | bool:
    """`text` at `values`, exactly: / gives Fractions, a comparison gives a bool."""
    tree = parse(text, known=values.keys(), conditions=True)
    try:
        return fold(tree, lambda n: Fraction(values[n]), lambda q: q)
    except ZeroDivisionError:  # a divisor zero at these values only, as S - 32 at S = 32
        at = ", ".join(f"{n}={values[n]}" for n in sorted(names_of(tree)))
        raise FormulaError(f"division by zero in {shown(text)} at {at}") from None


def names_in(text: str) -> set[str]:
    """The variable names a formula or condition uses."""
    return names_of(parse(text, conditions=True))


def mod_words(name: str, modulus: int, residue: int) -> str:
    """name % modulus == residue in words: 'k odd', 'S a multiple of 4', 'S ≡ 1 (mod 4)'."""
    if modulus == 2:
        return f"{name} {'odd' if residue else 'even'}"
    if residue == 0:
        return f"{name} a multiple of {modulus}"
    return f"{name} ≡ {residue} (mod {modulus})"


def _bits(q: Fraction) -> int:
    return max(q.numerator.bit_length(), q.denominator.bit_length())


def _short(q: Fraction) -> str:
    text = str(q)
    return text if len(text) <= 20 else f"{text[:8]}…({len(text)} digits)"
