"""Closed forms in sympy: the homework's symbols, declared formulas, parsing and display.

Variables are NIC, NF, NC, k (constructor arguments) and S (input height = width). A model
declares its formulas with a `formulas(convention)` classmethod returning
archcount.closed_form.Formula records (Python-syntax strings; `sympy_of` turns them into sympy
here); archcount finds it on the model's class and never imports `models` itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import sympy

from archcount.errors import FormulaError
from archcount.formulas.syntax import QUANTITIES, fold, mod_words, parse, shown, walk

_ALIASES = {"exact": "connections_exact", "params": "weights", "units": "outputs"}
_RELATIONS = {"==": sympy.Eq, ">=": sympy.Ge, "<=": sympy.Le, ">": sympy.Gt, "<": sympy.Lt}


def sympy_of(text: str) -> sympy.Basic:
    """A declared formula or condition (Python syntax) as a sympy expression or relation."""
    return walk(text, symbol, rational, _RELATIONS)


def rational(q: Fraction) -> sympy.Rational:
    """An exact number as sympy's."""
    return sympy.Rational(q.numerator, q.denominator)


def condition_text(c: sympy.Basic) -> str:
    """Eq(Mod(k, 2), 1) -> 'k odd'; Eq(Mod(S, 4), 0) -> 'S a multiple of 4'; else sympy's text."""
    lhs, rhs = c.args if isinstance(c, sympy.Eq) else (None, None)
    if isinstance(lhs, sympy.Mod) and rhs.is_Integer and lhs.args[1].is_Integer:
        return mod_words(str(lhs.args[0]), int(lhs.args[1]), int(rhs))
    return sympy.sstr(c).replace(">=", "≥").replace("<=", "≤").replace("*", "·")


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of a variable: a positive integer."""
    return sympy.Symbol(name, integer=True, positive=True)


def symbols(names) -> dict[str, sympy.Symbol]:
    """name -> symbol for each name."""
    return {n: symbol(n) for n in names}


def modulo(name: str, modulus: int, residue: int) -> sympy.Basic:
    """The relation name ≡ residue (mod modulus)."""
    return sympy.Eq(sympy.Mod(symbol(name), modulus), residue)


def held(expr: sympy.Basic, values: Mapping[str, int]) -> sympy.Basic:
    """`expr` with the named symbols held at `values`."""
    return expr.subs({symbol(n): v for n, v in values.items()})


def expand(expr: sympy.Basic) -> sympy.Basic:
    """The expanded form (zero exactly when two polynomials agree)."""
    return sympy.expand(expr)


def same(a: sympy.Basic, b: sympy.Basic, values: Mapping[str, int] | None = None) -> bool:
    """True when a (with `values` held) and b are the same polynomial."""
    return sympy.expand(held(a, values or {}) - b) == 0


def quantity_name(text: str) -> str:
    """'outputs' / 'exact' / … -> the canonical quantity, or FormulaError."""
    name = _ALIASES.get(text.strip(), text.strip())
    if name not in QUANTITIES:
        raise FormulaError(f"unknown quantity {shown(text)}: use one of {', '.join(QUANTITIES)}")
    return name


def parse_expression(text: str, names: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """A user's formula ('k^2(NIC·NF) + 12NF' works) as sympy, built from our checked tree.

    Only numbers, `names` and + - * / ** ^ ( ) are read (syntax.parse); anything else,
    and any other name, is a FormulaError before sympy sees a thing.
    """
    tree = parse(text, known=list(names))
    return fold(tree, names.__getitem__, rational)


def parse_expectation(text: str, names: Mapping[str, sympy.Symbol]) -> tuple[str, sympy.Expr]:
    """'outputs=2880*NF + 3328*NC' -> ('outputs', expr)."""
    quantity, sep, rhs = text.partition("=")
    if not sep or not rhs.strip():
        raise FormulaError(
            f"--expect wants QUANTITY=FORMULA, e.g. outputs=2880*NF, got {shown(text)}"
        )
    return quantity_name(quantity), parse_expression(rhs, names)


def from_coefficients(
    coeffs: Mapping[tuple[int, ...], Fraction], gens: tuple[sympy.Symbol, ...]
) -> sympy.Expr:
    """sum c·Π gens^e over the exponent tuples of `coeffs`."""
    terms = []
    for exps, c in coeffs.items():
        term = sympy.Rational(c.numerator, c.denominator)
        for g, e in zip(gens, exps):
            if e:
                term *= g**e
        terms.append(term)
    return sympy.Add(*terms)


def to_coefficients(
    expr: sympy.Expr, gens: tuple[sympy.Symbol, ...]
) -> dict[tuple[int, ...], Fraction] | None:
    """Exponent tuple -> rational coefficient, or None when `expr` is not a polynomial."""
    try:
        poly = sympy.Poly(sympy.expand(expr), *gens) if gens else None
    except sympy.PolynomialError:
        return None
    if poly is None:
        value = sympy.nsimplify(expr)
        return {(): Fraction(int(value.p), int(value.q))} if value.is_Rational else None
    if not all(c.is_Rational for c in poly.coeffs()):
        return None
    return {e: Fraction(int(c.p), int(c.q)) for e, c in poly.as_dict().items() if c != 0}


def display(expr: sympy.Expr, order: Sequence[str] = (), outer: Sequence[str] = ()) -> str:
    """docs/counting.md's style: k²(NIC·NF + 4NF² + NF·NC + NC²) + 12NF + 4NC; parses back.

    Names come in `order` (the rest sorted); terms are grouped by their powers of the `outer`
    names (k and S for the homework), each group a common factor before a bracket.
    """
    free = {str(s) for s in expr.free_symbols}
    names = [n for n in order if n in free] + sorted(free - set(order))
    gens = tuple(symbol(n) for n in names)
    coeffs = to_coefficients(expr, gens)
    if coeffs is None:
        return sympy.sstr(expr)
    if not coeffs:
        return "0"
    geo = [i for i, n in enumerate(names) if n in outer]
    groups: dict[tuple[int, ...], list[tuple[tuple[int, ...], Fraction]]] = {}
    for exps, c in coeffs.items():
        groups.setdefault(tuple(exps[i] for i in geo), []).append((exps, c))
    parts = []
    for g in sorted(groups, key=lambda g: (-sum(g), tuple(-e for e in g))):
        terms = sorted(groups[g], key=lambda t: tuple(-e for e in t[0]))
        outer = _monomial({names[i]: e for i, e in zip(geo, g)})
        if len(terms) == 1 or not outer:
            parts += [_term(c, _monomial(dict(zip(names, e)))) for e, c in terms]
            continue
        inner = [
            _term(c, _monomial({n: x for n, x in zip(names, e) if n not in outer}))
            for e, c in terms
        ]
        parts.append(f"{outer}({_joined(inner)})")
    return _joined(parts)


def _monomial(powers: Mapping[str, int]) -> str:
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return "·".join(n if e == 1 else n + str(e).translate(sup) for n, e in powers.items() if e)


def _term(c: Fraction, mono: str) -> str:
    if not mono:
        return str(c)
    if c.denominator != 1:
        return f"({c}){mono}"
    return {1: mono, -1: f"-{mono}"}.get(int(c), f"{c}{mono}")


def _joined(parts: list[str]) -> str:
    text = " + ".join(parts)
    return text.replace("+ -", "- ").replace("+ (-", "- (")
