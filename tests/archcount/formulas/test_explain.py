"""The explanation of a wrong formula: every story that fits, or plainly 'not known'.

The cases and their hand-derived explanations are in wrong_formulas.py; each is checked here
against the derivation from the hooks (NIC, NF, NC, k at S = 32, as `archcount check` does).
"""

import functools
import sys
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import models
from archcount.formulas.explain import MAX_SHOWN, compare
from archcount.formulas.stories import _plausible
from archcount.formulas.symbolic import parse_expression, symbols
from archcount.front.space import derive_target, sampled
from archcount.records import Options

sys.path.insert(0, str(Path(__file__).parent))  # wrong_formulas beside this file
from wrong_formulas import CASES, NOT_KNOWN, NOT_KNOWN_MANY

NAMES = ("NIC", "NF", "NC", "k", "S")


@functools.cache
def derivation(net: str, fixed: tuple):
    """The net's forms in NIC, NF, NC, k with `fixed` held (S = 32 as check holds it)."""
    fix = dict(fixed)
    names = [n for n in NAMES if n not in fix]
    return derive_target(sampled(getattr(models, net)), names, fix, Options())[0]


def verdict(net, fixed, quantity, yours):
    d = derivation(net, tuple(sorted(fixed.items())))
    return compare(d, quantity, parse_expression(yours, symbols(NAMES)))


@pytest.mark.parametrize(("cid", "net", "fixed", "quantity", "yours", "amount", "stories"),
                         CASES, ids=[c[0] for c in CASES])  # fmt: skip
def test_wrong_formula_is_explained_as_derived_by_hand(
    cid, net, fixed, quantity, yours, amount, stories
):
    v = verdict(net, fixed, quantity, yours)
    text = v.explanation()
    assert not v.ok and text.startswith(amount), text
    if stories == NOT_KNOWN:
        assert not v.stories and "; not known:" in text, text
    elif stories == NOT_KNOWN_MANY:
        assert len(v.stories) > MAX_SHOWN and f"not known which: {len(v.stories)} " in text, text
    else:
        assert len(v.stories) == len(stories), text
        for fragments, story in zip(stories, v.stories):
            parts = (fragments,) if isinstance(fragments, str) else fragments
            assert all(part in story.what for part in parts), text
        assert text.endswith("; cannot tell which") == (len(stories) > 1), text


@pytest.mark.parametrize("cid", [c[0] for c in CASES if isinstance(c[6], list)])
def test_every_story_shown_accounts_for_the_difference_exactly(cid):
    """Each story's changed rows, put in place of the derived ones, give your formula."""
    _, net, fixed, quantity, yours, _, _ = next(c for c in CASES if c[0] == cid)
    v = verdict(net, fixed, quantity, yours)
    d = derivation(net, tuple(sorted(fixed.items())))
    for story in v.stories:
        rows = {f.info.label: f.polys[quantity] for f in d.layers[0]} | dict(story.rows)
        total = sum((d.expr(p) for p in rows.values()), sympy.Integer(0))
        assert sympy.expand(total - v.expected) == 0, story.what


@pytest.mark.parametrize(
    ("factor", "plausible"),
    [
        ((4, ()), True),  # a stride or a pooling window
        ((sympy.Rational(1, 2), ()), True),
        ((sympy.Rational(225, 256), ()), True),  # (15/16)²: two positions short per side
        ((sympy.Rational(289, 256), ()), True),
        ((3, ()), False),
        ((5, ()), False),
        ((sympy.Rational(9, 4), ()), False),  # (3/2)²: no size a slip away
        ((-4, ()), False),
        ((1, (0, -1)), True),  # k for k²
        ((1, (1, -1)), False),  # two symbols moved
        ((1, (0, 3)), False),
    ],
)
def test_plausible_factors(factor, plausible):
    from fractions import Fraction

    c, mono = factor
    assert _plausible(Fraction(str(c)), mono) == plausible


CHANGES = {  # name -> yours as a function of the row's derived value
    "left out": lambda p: {},
    "counted twice": lambda p: {e: 2 * c for e, c in p.items()},
    "×4 (a stride)": lambda p: {e: 4 * c for e, c in p.items()},
    "×1/4": lambda p: {e: c / 4 for e, c in p.items()},
    "×(15/16)²": lambda p: {e: c * 225 / 256 for e, c in p.items()},
}


@settings(max_examples=40, deadline=None)
@given(
    net=st.sampled_from(["PoolUpsampleNet", "ConvTransposeNet", "UNet"]),
    quantity=st.sampled_from(["weights", "outputs", "connections"]),
    row=st.integers(0, 12),
    change=st.sampled_from(sorted(CHANGES)),
)
def test_one_changed_layer_is_among_the_stories_or_not_known(net, quantity, row, change):
    """Change one layer's form as a slip would: the explanation lists that very change, or
    says it cannot tell which of more than MAX_SHOWN; it never leaves the true story out."""
    d = derivation(net, (("S", 32),))
    forms = [f for f in d.layers[0] if f.polys[quantity]]
    f = forms[row % len(forms)]
    mine = CHANGES[change](f.polys[quantity])
    rows = {x.info.label: x.polys[quantity] for x in d.layers[0]} | {f.info.label: mine}
    yours = sum((d.expr(p) for p in rows.values()), sympy.Integer(0))
    v = compare(d, quantity, yours)
    assert not v.ok
    wanted = {(f.info.label, frozenset(mine.items()))}
    found = [s for s in v.stories if {(r, frozenset(p.items())) for r, p in s.rows} == wanted]
    assert found or len(v.stories) > MAX_SHOWN, (f.info.label, change, v.explanation())
