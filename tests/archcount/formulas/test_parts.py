"""The pieces under derive/check: exact interpolation, degree probing, parsing, display."""

import itertools
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from archcount.errors import FormulaError
from archcount.formulas.interpolate import fit, vandermonde_inverse
from archcount.formulas.probe import degree, probe
from archcount.formulas.symbolic import display as written
from archcount.formulas.symbolic import parse_expectation, parse_expression, symbols
from models.formulas import SYMBOLS as HOMEWORK

NAMES = (*HOMEWORK.params, *HOMEWORK.sizes)  # NIC, NF, NC, k, S
SYMBOLS = symbols(NAMES)


def display(expr):
    """Written as the homework's derivations write it: NIC, NF, NC, k, S; k and S outside."""
    return written(expr, NAMES, HOMEWORK.outer)


coefficient = st.fractions(min_value=-50, max_value=50, max_denominator=16)
polynomial = st.dictionaries(
    st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 3)), coefficient, max_size=8
)


def evaluate(poly, point):
    return sum(c * x**a * y**b * z**e for (a, b, e), c in poly.items() for x, y, z in [point])


@settings(max_examples=40, deadline=None)
@given(poly=polynomial)
def test_fit_recovers_every_coefficient_exactly(poly):
    nodes = [(2, 5, 7), (1, 4), (3, 5, 7, 9)]
    values = {p: [evaluate(poly, p), 7] for p in itertools.product(*nodes)}
    solved = fit(nodes, values)
    assert solved.polynomial(0) == {e: c for e, c in poly.items() if c}
    assert solved.polynomial(1) == {(0, 0, 0): Fraction(7)}
    assert solved.evaluate((11, 13, 15)) == [evaluate(poly, (11, 13, 15)), 7]


def test_vandermonde_inverse_is_an_inverse():
    a, d = vandermonde_inverse([3, 5, 7, 9])
    v = [[x**j for j in range(4)] for x in (3, 5, 7, 9)]
    product = [[sum(a[i][m] * v[m][j] for m in range(4)) for j in range(4)] for i in range(4)]
    assert product == [[d * (i == j) for j in range(4)] for i in range(4)]


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        ([5, 5, 5, 5], 0),
        ([0, 0, 0], -1),
        ([1, 4, 9, 16, 25], 2),
        ([1, 4, 9, 16], None),  # degree 2 needs two more points to be confirmed
        ([16, 17, 17, 18, 18, 19], None),  # floor(S/2): never a polynomial
    ],
)
def test_degree_by_finite_differences(seq, expected):
    assert degree(seq) == expected


def test_probe_finds_the_residue_class():
    def at(s):  # outputs of a stride-4 downsampling: floor(s/4)², a polynomial only for s % 4 == 0
        return {("outputs",): (s // 4) ** 2}

    prog, broken = probe("S", 32, at)
    assert (prog.step, prog.degree, prog.nodes()) == (4, 2, (32, 36, 40))
    assert [b.step for b in broken] == [1, 2, 3]


def test_probe_reports_points_that_cannot_be_counted():
    prog, broken = probe("k", 3, lambda k: "even kernel" if k % 2 == 0 else {("w",): k * k})
    assert prog.step == 2 and broken[0].unbuildable == "k=4: even kernel"


@pytest.mark.parametrize(
    "text",
    [
        "k^2(NIC NF + 4NF² + NF·NC + NC^2) + 12NF + 4NC",
        "k**2*S**2*(NIC*NF + 5*NF**2/8) + 19*NF*S**2/8 + 2*NC*S**2",
        "NIC*NF*(S*k/2 - (k**2 - 1)/8)**2 - 3",
    ],
)
def test_display_parses_back(text):
    expr = parse_expression(text, SYMBOLS)
    assert sympy.expand(parse_expression(display(expr), SYMBOLS) - expr) == 0


def test_display_matches_spec_style():
    expr = parse_expression("k**2*(NC**2 + NC*NF + 4*NF**2 + NF*NIC) + 12*NF + 4*NC", SYMBOLS)
    assert display(expr) == "k²(NIC·NF + 4NF² + NF·NC + NC²) + 12NF + 4NC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("outputs=NF +", "cannot parse"),
        ("outputs=foo*NF", "unknown name foo"),
        ("biases=NF", "unknown quantity"),
        ("outputs=", "QUANTITY=FORMULA"),
    ],
)
def test_bad_expectations_are_formula_errors(text, message):
    with pytest.raises(FormulaError, match=message):
        parse_expectation(text, SYMBOLS)


def test_expectation_aliases():
    assert parse_expectation("exact = 2NF", SYMBOLS)[0] == "connections_exact"
