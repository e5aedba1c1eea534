"""Declared formulas (models/formulas.py) against the hooks, over a hypothesis-drawn space."""

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcount
from archcount.formulas.closed_form import condition_words
from models import ConvTransposeNet, PoolUpsampleNet

NETS = [PoolUpsampleNet, ConvTransposeNet]
CONVENTIONS = ["units", "modules"]

point = st.fixed_dictionaries(
    {
        "NIC": st.integers(1, 6),
        "NF": st.integers(1, 40),
        "NC": st.integers(1, 40),
        "k": st.sampled_from([1, 3, 5, 7, 9]),
        "S": st.integers(1, 24).map(lambda i: 4 * i),
    }
)


def hooks(cls, convention, p):
    with torch.device("meta"):
        model = cls(
            kernel=p["k"],
            num_filters=p["NF"],
            num_colours=p["NC"],
            num_in_channels=p["NIC"],
        )
    with warnings.catch_warnings():  # padding='same' notes for even k
        warnings.simplefilter("ignore", UserWarning)
        return archcount.count(model, (1, p["NIC"], p["S"], p["S"]), convention=convention).totals


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("cls", NETS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=point)
def test_declared_formulas_equal_the_hooks(cls, convention, p):
    totals = hooks(cls, convention, p)
    for f in cls.formulas(convention):
        if f.applies(p):
            assert f.value(p) == getattr(totals, f.quantity), (f.quantity, p)
        else:  # only exact connections have a condition beyond S % 4, and it is S >= c(k-1)
            assert f.quantity == "connections_exact" and p["S"] < 2 * (p["k"] - 1), p


@pytest.mark.parametrize("cls", NETS)
@settings(max_examples=10, deadline=None)
@given(p=point, even_k=st.sampled_from([2, 4, 6, 8]))
def test_nominal_formulas_hold_for_even_kernels(cls, p, even_k):
    p = {**p, "k": even_k, "S": max(p["S"], 16)}
    totals = hooks(cls, "units", p)
    for f in cls.formulas("units"):
        if f.quantity != "connections_exact":
            assert f.applies(p) and f.value(p) == getattr(totals, f.quantity)
    exact = next(f for f in cls.formulas("units") if f.quantity == "connections_exact")
    assert "k odd" in exact.unmet(p)


def test_seed_values_from_spec():
    """docs/counting.md: PoolUpsampleNet at 32x32, units, nominal, and doubled width and height."""
    from sympy import expand

    from archcount.formulas.symbolic import symbol

    NIC, NF, NC, k, S = (symbol(n) for n in ("NIC", "NF", "NC", "k", "S"))

    f = {x.quantity: x.expr for x in PoolUpsampleNet.formulas("units")}
    spec_w = k**2 * (NIC * NF + 4 * NF**2 + NF * NC + NC**2) + 12 * NF + 4 * NC
    spec_o = 2880 * NF + 3328 * NC
    spec_c = (
        k**2 * (1024 * NIC * NF + 640 * NF**2 + 256 * NF * NC + 1024 * NC**2)
        + 2432 * NF
        + 2048 * NC
    )
    assert expand(f["weights"] - spec_w) == 0
    assert expand(f["outputs"].subs(S, 32) - spec_o) == 0
    assert expand(f["connections"].subs(S, 32) - spec_c) == 0
    assert expand(f["outputs"].subs(S, 64) - 4 * spec_o) == 0
    assert expand(f["connections"].subs(S, 64) - 4 * spec_c) == 0


def test_conditions_read_as_words():
    exact = next(f for f in ConvTransposeNet.formulas() if f.quantity == "connections_exact")
    assert [condition_words(c) for c in exact.conditions] == [
        "k odd",
        "S a multiple of 4",
        "S ≥ k - 1",
    ]
