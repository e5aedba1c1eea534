"""Derivation from the hooks reproduces the declared formulas; restrictions are found and named."""

import functools
from fractions import Fraction

import pytest
import sympy

from archcount.errors import DerivationError
from archcount.formulas.explain import compare
from archcount.front.space import derive_target, sampled
from archcount.records import Convention, Options
from models import ConvTransposeNet, PoolUpsampleNet


def derived(cls, names=None, fix=None, convention=Convention.UNITS):
    return derive_target(sampled(cls), names, fix or {}, Options(convention))[0]


@pytest.fixture(
    scope="module", params=[PoolUpsampleNet, ConvTransposeNet], ids=lambda c: c.__name__
)
def full(request):
    """Every total in NIC, NF, NC, k, S (units; the `modules` figures come as variant 1)."""
    return request.param, full_of(request.param)


@functools.cache
def full_of(cls):
    return derived(cls)


def test_derive_reproduces_the_declared_formulas(full):
    cls, d = full
    assert [v.name for v in d.variables] == ["NIC", "NF", "NC", "k", "S"]
    for f in cls.formulas("units"):
        assert sympy.expand(d.total(f.quantity) - f.expr) == 0, f.quantity


def test_other_convention_comes_from_the_same_counts(full):
    cls, d = full
    for f in cls.formulas("modules"):
        layers_sum = sum((d.expr(x.polys[f.quantity]) for x in d.layers[1]), sympy.Integer(0))
        assert sympy.expand(layers_sum - f.expr) == 0, f.quantity


def test_per_layer_forms_sum_to_the_totals(full):
    _, d = full
    for q, total in d.totals.items():
        summed: dict = {}
        for x in d.layers[0]:
            for e, c in x.polys[q].items():
                summed[e] = summed.get(e, Fraction(0)) + c
        assert {e: c for e, c in summed.items() if c} == total


def test_restrictions_are_named(full):
    _, d = full
    words = {r.name: r.text() for r in d.restrictions}
    assert words == {"k": "k odd", "S": "S a multiple of 4"}
    assert "connections_exact" in next(r.why for r in d.restrictions if r.name == "k")


def test_derivation_is_fast_enough(full):
    _, d = full
    assert d.samples < 400  # a product-of-degrees grid plus probes, not a dense search


def test_s_not_a_multiple_of_4_is_reported():
    d = derived(PoolUpsampleNet, ["S"])
    (r,) = d.restrictions
    assert (r.name, r.modulus, r.residue, r.text()) == ("S", 4, 0, "S a multiple of 4")
    assert "MaxPool2d" in r.why and "outputs" in r.why
    assert sympy.expand(d.total("outputs") - (sympy.Rational(45, 16) * 32 + 13 * 24 // 4 * 0)) != 0
    s = d.gens[0]
    assert sympy.expand(d.total("outputs") - (90 + 78) * s**2) == 0  # NF=32, NC=24


def test_fixed_variables_and_bad_names():
    d = derived(PoolUpsampleNet, ["NF"], {"S": 64, "k": 5})
    nf = d.gens[0]
    assert d.fixed == {"S": 64, "k": 5}
    assert (
        sympy.expand(d.total("weights") - (25 * (nf + 4 * nf**2 + 24 * nf + 576) + 12 * nf + 96))
        == 0
    )
    with pytest.raises(DerivationError, match="depth"):
        derived(PoolUpsampleNet, ["depth"])


@pytest.fixture(scope="module")
def at_32():
    """PoolUpsampleNet's forms at S = 32 under both conventions, from one derivation."""
    units = full_of(PoolUpsampleNet).at("S", 32)
    return units, units.other_convention()


def test_holding_a_variable_equals_deriving_with_it_fixed(full):
    cls, d = full
    direct = derived(cls, ["NF"], {"S": 64, "k": 5})
    held = d.at("S", 64).at("k", 5).at("NIC", 1).at("NC", 24)
    assert held.totals == direct.totals and held.fixed == direct.fixed | {"NIC": 1, "NC": 24}


def spec(text):
    from archcount.formulas.symbolic import parse_expression, symbols

    SYMBOLS = symbols(["NIC", "NF", "NC", "k", "S"])

    return parse_expression(text, SYMBOLS)


def test_check_accepts_spec(at_32):
    units, _ = at_32
    for q, text in [
        ("weights", "k²(NIC·NF + 4NF² + NF·NC + NC²) + 12NF + 4NC"),
        ("outputs", "2880NF + 3328NC"),
        ("connections", "k²(1024·NIC·NF + 640NF² + 256NF·NC + 1024NC²) + 2432NF + 2048NC"),
    ]:
        assert compare(units, q, spec(text)).ok, q


def test_check_names_the_relus_under_modules(at_32):
    _, modules = at_32
    v = compare(modules, "outputs", spec("2880*NF + 3328*NC"))
    assert not v.ok and sympy.expand(v.difference - spec("640NF + 1024NC")) == 0
    text = v.explanation()
    assert text.startswith("missing 640NF + 1024NC: the ReLU outputs (layer1.3, layer2.3")
    assert "counted under `modules`, not under `units`" in text


@pytest.mark.parametrize(
    ("quantity", "wrong", "missing", "who"),
    [
        ("weights", "k²(NIC·NF + 4NF² + NF·NC + NC²) + 8NF + 2NC", "4NF + 2NC", "Conv2d biases"),
        ("weights", "k²(NIC·NF + 4NF² + NF·NC + NC²) + 4NF + 2NC", "8NF + 2NC", "BatchNorm2d"),
        (
            "connections",
            "k²(1024NIC·NF + 640NF² + 256NF·NC) + 2432NF + 2048NC",
            "1024NC²·k²",
            "layer5",
        ),
    ],
)
def test_check_attributes_a_difference_to_layers(at_32, quantity, wrong, missing, who):
    units, _ = at_32
    v = compare(units, quantity, spec(wrong))
    text = v.explanation()
    assert text.startswith(f"missing {missing}:") and who in text, text


def test_check_says_when_no_layers_account_for_it(at_32):
    units, _ = at_32
    v = compare(units, "outputs", spec("2880NF + 3328NC + 7"))
    assert v.explanation().startswith("off by -7")


def test_readme_six_values_are_the_derived_ones():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Closed forms", 1)[1]
    d = full_of(PoolUpsampleNet)
    for q in ("weights", "outputs", "connections"):
        row = re.search(rf"^\| {q} \| (.+?) \| (.+?) \|$", section, re.MULTILINE)
        assert row, q
        for size, text in zip((32, 64), row.groups()):
            assert sympy.expand(spec(text) - d.at("S", size).total(q)) == 0, (q, size)
