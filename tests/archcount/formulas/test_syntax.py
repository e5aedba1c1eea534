"""The formula parser: random polynomials written three ways parse to the polynomial sympy
builds directly; any string at all either parses or is a FormulaError (nothing else)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from archcount.errors import FormulaError
from archcount.formulas.symbolic import display, parse_expression, symbols
from archcount.formulas.syntax import evaluate, names_in, parse

NAMES = ["NIC", "NF", "NC", "k", "S"]
SYMBOLS = symbols(NAMES)
SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

monomials = st.dictionaries(st.sampled_from(NAMES), st.integers(1, 2), max_size=3)
coefficients = st.fractions(min_value=-50, max_value=50, max_denominator=9).filter(bool)
polynomials = st.lists(st.tuples(coefficients, monomials), min_size=1, max_size=5)


def direct(poly) -> sympy.Expr:
    """The polynomial built by sympy itself, never from text."""
    return sympy.Add(
        *(
            sympy.Rational(c.numerator, c.denominator)
            * sympy.Mul(*(SYMBOLS[n] ** e for n, e in mono.items()))
            for c, mono in poly
        )
    )


def python_text(poly) -> str:
    terms = [
        f"({c.numerator}/{c.denominator})" + "".join(f"*{n}**{e}" for n, e in m.items())
        for c, m in poly
    ]
    return " + ".join(terms)


def paper_text(poly) -> str:
    """12NF², k^2·S, (3/4)NF NC: implicit products, superscripts, ^, middle dots, −."""
    out = []
    for i, (c, m) in enumerate(poly):
        factors = [n + (str(e).translate(SUP) if i % 2 else f"^{e}") for n, e in m.items()]
        glue = "·" if i % 3 == 0 else " "
        number = str(abs(c)) if c.denominator == 1 else f"({abs(c)})"
        sign = "−" if c < 0 else "+"
        out.append(f"{sign} {number}{glue.join(factors)}")
    return " ".join(out)


@settings(max_examples=60, deadline=None)
@given(polynomials)
def test_three_spellings_parse_to_the_same_polynomial(poly):
    truth = direct(poly)
    for text in (python_text(poly), paper_text(poly), display(truth)):
        assert sympy.expand(parse_expression(text, SYMBOLS) - truth) == 0, text


@settings(max_examples=60, deadline=None)
@given(polynomials, st.lists(st.integers(1, 40), min_size=5, max_size=5))
def test_exact_evaluation_agrees_with_sympy(poly, point):
    values = dict(zip(NAMES, point))
    expected = direct(poly).subs({SYMBOLS[n]: v for n, v in values.items()})
    got = evaluate(python_text(poly), values)
    assert got == Fraction(int(expected.p), int(expected.q))


ALPHABET = "NFCkS0129 +-*/^()·²._'\"[]{}:;,=<>%@\\\nλＮ\u202e"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40) | st.text(max_size=20))
def test_any_string_parses_or_is_a_formula_error(text):
    try:
        parse_expression(text, SYMBOLS)
    except FormulaError as exc:
        assert "\n" not in str(exc)  # one line, whatever the text held


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-NF**2", -25),  # the sign binds looser than the power, as in Python
        ("2**-1*NF", Fraction(5, 2)),
        ("2**3**2", 512),  # right-associative
        ("1/2NF", Fraction(5, 2)),  # (1/2)·NF, left to right
        ("NF²NC", 25 * 7),
        ("(NF)(NC)", 35),
        ("k²(NF + 1)", 9 * 6),
        ("0.25NF", Fraction(5, 4)),
    ],
)
def test_precedence_as_written(text, value):
    assert evaluate(text, {"NF": 5, "NC": 7, "k": 3}) == value


def test_conditions_only_where_declared():
    assert evaluate("k % 2 == 1", {"k": 3}) is True
    assert names_in("S >= 2*(k - 1)") == {"S", "k"}
    with pytest.raises(FormulaError, match="unexpected '%'"):
        parse("k % 2")
    with pytest.raises(FormulaError, match="unexpected '=='"):
        parse_expression("NF == 1", SYMBOLS)


@settings(max_examples=60, deadline=None)
@given(polynomials, polynomials, st.booleans())
def test_a_divisor_zero_for_every_value_is_refused_as_sympy_finds_it(p, q, same):
    """NF/(P − Q) is refused exactly when sympy expands P − Q to 0 (Q: P written otherwise, or
    another polynomial); else it parses to NF/(P − Q), never to zoo."""
    q = p if same else q
    divisor = direct(p) - direct(q)
    text = f"NF/(({python_text(p)}) - ({paper_text(list(reversed(q)))}))"
    if sympy.expand(divisor) == 0:
        with pytest.raises(FormulaError, match="a divisor is zero for every value"):
            parse_expression(text, SYMBOLS)
    else:
        got = parse_expression(text, SYMBOLS)
        assert not got.has(sympy.zoo, sympy.nan)
        assert sympy.cancel(got * divisor - SYMBOLS["NF"]) == 0
