"""Formulas of `check --expect`: payloads refused before any code runs, every refusal named."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

TARGET = "models.PoolUpsampleNet"

# (formula, what the one line says); {m} is the marker file a payload would create
PAYLOADS = [
    ("__import__('os').system('touch {m}')", 'unexpected "\'"'),
    ("__import__('os').system('touch {m}') + NF", 'unexpected "\'"'),
    ("open('{m}', 'w').write('x')", 'unexpected "\'"'),
    ("eval(\"__import__('os').system('touch {m}')\")", "unexpected '\"'"),
    ("(lambda: NF)()", "unexpected ':'"),
    ("NF.__class__", "unexpected '.'"),
    ("NF.real", "unexpected '.'"),
    ("__builtins__", "unknown name __builtins__"),
    ("__import__", "unknown name __import__"),
    ("NF[0]", "unexpected '['"),
    ("{{NF}}", "unexpected '{'"),
    ("[NF for NF in range(9**9**9)]", "unexpected '['"),
    ("NF; import os", "unexpected ';'"),
    ("NF\n__import__('os')", "unexpected '\\n'"),
    ("NF if 1 else NC", "unknown names else, if"),
    ("f'{{NF}}'", 'unexpected "\'"'),
    ("NF == NF", "unexpected '=='"),
    ("NF % 2", "unexpected '%'"),
    ("NF @ NC", "unexpected '@'"),
    ("NF, NC", "unexpected ','"),
    ("NF := 3", "unexpected ':'"),
    ("0x10", "unknown name x10"),
    ("2 3", "two numbers in a row"),
    ("NF +", "formula ends too early"),
    ("(NF", "missing ')'"),
]

TOO_BIG = [
    ("NF^(10^10)", "exponent 10000000000 is too large"),
    ("NF**10**10**10", "is too large"),
    ("NF**NF", "an exponent must be a number"),
    ("NF**(1/2)", "is not a whole number"),
    ("NF²⁰⁰", "exponent 200 is too large"),
    ("(9**64)**64", "more than 4096 bits"),
    ("(NIC + NF + NC + k + S)**9", "has degree 9"),
    ("NF" + "*NF" * 9, "has degree 10"),
    ("1/0", "division by zero"),
    ("(" * 100 + "NF" + ")" * 100, "nested more than 40 deep"),
    ("-" * 100 + "NF", "nested more than 40 deep"),
    ("NF+" * 5000 + "NF", "formula too long"),
    ("9" * 1500 + "NF", "more than 4096 bits"),  # a written constant, not only a folded one
    ("0." + "9" * 1500 + "NF", "more than 4096 bits"),  # its denominator 10^1500
]

# sympy folds each of these to zoo (complex infinity): a divisor zero for every value
ZERO_DIVISORS = [
    "NF/(NF-NF)",
    "NF/((NF+1)^2 - NF^2 - 2NF - 1)",  # zero only once expanded
    "NF/(1/(NF+1) + NF/(NF+1) - 1)",  # zero only once over one denominator
    "(k - k)^-1",
    "NF + NC/(0·S)",
]

UNICODE = [
    ("ＮＦ", "unexpected 'Ｎ'"),  # fullwidth: Python's parser would read NF (NFKC)
    ("ｅｖａｌ('1')", "unexpected 'ｅ'"),
    ("NF\u202e + NC", "unexpected '\\u202e'"),  # right-to-left override, escaped in the line
    ("N\u200bF", "unexpected '\\u200b'"),  # zero-width space
    ("١٢NF", "unexpected '١'"),  # Arabic-Indic digits: int() would read 12
    ("NF\x1b[31m", "unexpected '\\x1b'"),  # a terminal escape never reaches the terminal
]

UNKNOWN = [(name, f"unknown name {name}") for name in ("E", "I", "Q", "N", "pi", "oo", "zoo")]


@pytest.mark.parametrize(("formula", "says"), PAYLOADS + TOO_BIG + UNICODE)
def test_formula_refused(ws, formula, says):
    ws.run("check", TARGET, "-e", "outputs=" + formula.format(m=ws.marker), says=says)


@pytest.mark.parametrize("formula", ZERO_DIVISORS)
def test_division_by_zero_for_every_value_is_refused(ws, formula):
    line = ws.run("check", TARGET, "-e", f"outputs={formula}", says="division by zero").stderr
    assert "zoo" not in line and "a divisor is zero for every value" in line


def test_the_constant_limit_holds_for_written_constants():
    """2^4096 − 1 has 4096 bits and parses; 2^4096 (4097 bits) and 1,500 nines do not."""
    from archcount.errors import FormulaError
    from archcount.formulas.syntax import MAX_BITS, parse

    assert (2**4096 - 1).bit_length() == MAX_BITS and int("9" * 1500).bit_length() > MAX_BITS
    parse(f"{2**4096 - 1}NF")
    for text in (f"{2**4096}NF", "9" * 1500):
        with pytest.raises(FormulaError, match="more than 4096 bits"):
            parse(text)


DECLARES = """
from torch import nn

from archcount import Formula, Symbols


class Declares(nn.Module):
    formula_symbols = Symbols(params={{"NF": "num_filters"}}, input=(3, "S", "S"))

    def __init__(self, num_filters=4):
        super().__init__()
        self.conv = nn.Conv2d(3, num_filters, 3, padding=1)

    @classmethod
    def formulas(cls, convention="units"):
        return (Formula("weights", "28*NF"), Formula("outputs", "{outputs}"))

    def forward(self, x):
        return self.conv(x)
"""


@pytest.mark.parametrize(
    ("command", "extra"),
    [("count", ["--size", "8"]), ("derive", ["--fix", "S=8"]), ("check", ["-e", "weights=28NF"])],
)
def test_declared_formula_dividing_by_zero(ws, command, extra):
    """A model's declared NF/(NF-NF): refused when counted (exact values), derived or checked
    (sympy), never shown as zoo."""
    target = f"{ws.module(DECLARES.format(outputs='NF/(NF-NF)'))}.Declares"
    line = ws.run(command, target, *extra, says="a divisor is zero for every value").stderr
    assert "zoo" not in line


def test_declared_formula_dividing_by_zero_at_the_counted_values(ws):
    """S − 8 is a divisor sympy keeps; counted at S = 8 it is zero: one line naming the values."""
    target = f"{ws.module(DECLARES.format(outputs='NF*S**2/(S-8)'))}.Declares"
    ws.run(target, "--size", "8", says="division by zero in 'NF*S**2/(S-8)' at NF=4, S=8")
    r = CliRunner().invoke(app, [target, "--size", "16", "--json"])
    assert r.exit_code == 0, r.output
    declared = json.loads(r.stdout)["formulas"][1]
    assert (declared["value"], declared["counted"]) == (4 * 16**2 // (16 - 8), 4 * 16**2)


@pytest.mark.parametrize(("name", "says"), UNKNOWN)
def test_sympy_constants_are_unknown_names(ws, name, says):
    line = ws.run("check", TARGET, "-e", f"outputs=2880NF + 3328{name}", says=says).stderr
    assert "use NIC, NF, NC, k, S" in line


def test_the_issues_line_exactly(ws):
    r = ws.run("check", TARGET, "-e", "outputs=2880NF + 3328E")
    assert r.stderr.strip() == ("error: unknown name E in '2880NF + 3328E': use NIC, NF, NC, k, S")


@pytest.mark.parametrize("quantity", ["biases", "__class__", "outputs.__dict__", "x" * 500])
def test_unknown_quantity(ws, quantity):
    ws.run("check", TARGET, "-e", f"{quantity}=NF", says="unknown quantity")


def test_expect_without_formula(ws):
    ws.run("check", TARGET, "-e", "outputs=", says="QUANTITY=FORMULA")


def test_paper_forms_still_parse():
    """The forms a student writes, and every form the models declare, parse to the same value."""
    import sympy

    from archcount.formulas.symbolic import parse_expression, symbols
    from models import ConvTransposeNet, PoolUpsampleNet

    names = symbols(["NIC", "NF", "NC", "k", "S"])
    at = {names[n]: v for n, v in {"NIC": 3, "NF": 5, "NC": 7, "k": 3, "S": 8}.items()}
    paper = {
        "k²(NIC·NF + 4NF² + NF·NC + NC²) + 12NF + 4NC": 9 * (15 + 100 + 35 + 49) + 60 + 28,
        "k^2(NIC NF + 4NF^2 + NF NC + NC^2) + 12 NF + 4NC": 9 * (15 + 100 + 35 + 49) + 60 + 28,
        "2880NF + 3328NC": 2880 * 5 + 3328 * 7,
        "S²(45NF/16 + 13NC/4)": 64 * (45 * 5 / 16 + 13 * 7 / 4),
        "NIC·NF·(S·k − (k² − 1)/4)²": 15 * (24 - 2) ** 2,
        "0.5NF × 2": 5,
        "-NF + +NC": 2,
    }
    for text, value in paper.items():
        assert parse_expression(text, names).subs(at) == sympy.nsimplify(value), text
    for cls in (PoolUpsampleNet, ConvTransposeNet):
        for convention in ("units", "modules"):
            for f in cls.formulas(convention):
                from fractions import Fraction

                values = {"NIC": 3, "NF": 5, "NC": 7, "k": 3, "S": 8}
                exact = Fraction(f.value(values))
                assert f.expr.subs(at) == sympy.Rational(exact.numerator, exact.denominator)
                # the pretty form shown in tables parses back to the same value
                assert parse_expression(f.display(), names).subs(at) == f.expr.subs(at)
