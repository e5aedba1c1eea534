"""The syntax of formulas and conditions: one AST walk over + - * / ** % and one comparison.

Python syntax, parsed by `ast` and walked on a whitelist of node types: the one parser
behind exact evaluation (Fractions, closed_form) and sympy forms (symbolic).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from fractions import Fraction

QUANTITIES = ("weights", "outputs", "connections", "connections_exact")

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
}


def walk(text: str, name: Callable, number: Callable, compare: Mapping = _COMPARE):
    """Build `text` bottom-up from name(id) and number(int) leaves with + - * / ** % and
    one comparison; the one parser behind evaluation (Fractions) and sympy forms."""

    def node_value(node: ast.AST):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return number(node.value)
        if isinstance(node, ast.Name):
            return name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -node_value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = node_value(node.left), node_value(node.right)
            if isinstance(node.op, ast.Pow):  # exponents are small non-negative integers
                right = int(right)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in compare:
            left, right = node_value(node.left), node_value(node.comparators[0])
            return compare[type(node.ops[0])](left, right)
        raise ValueError(f"unsupported in a declared formula: {ast.unparse(node)}")

    return node_value(ast.parse(text, mode="eval").body)


def evaluate(text: str, values: Mapping[str, int]) -> Fraction | bool:
    """`text` at `values`, exactly: / gives Fractions, a comparison gives a bool."""
    return walk(text, lambda n: Fraction(values[n]), Fraction)


def names_in(text: str) -> set[str]:
    """The variable names a formula or condition uses."""
    return {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}


def mod_words(name: str, modulus: int, residue: int) -> str:
    """name % modulus == residue in words: 'k odd', 'S a multiple of 4', 'S ≡ 1 (mod 4)'."""
    if modulus == 2:
        return f"{name} {'odd' if residue else 'even'}"
    if residue == 0:
        return f"{name} a multiple of {modulus}"
    return f"{name} ≡ {residue} (mod {modulus})"
