"""Formulas of `check --expect`: payloads refused before any code runs, every refusal named."""

from __future__ import annotations

import pytest

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
