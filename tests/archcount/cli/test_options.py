"""Options shared by the commands: integers bounded where PyTorch's own bound is."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archcount.cli.options import bounded, constructor_args, parse_fix
from archcount.errors import InputError

EDGES = st.sampled_from([-(2**63), 2**63]).flatmap(
    lambda edge: st.integers(edge - 3, edge + 3)
) | st.integers(-(2**70), 2**70)


def torch_holds(value: int) -> bool:
    """PyTorch's own answer: can it hold `value` as an int64 argument?"""
    try:
        torch.full((1,), value, dtype=torch.int64)
    except (RuntimeError, OverflowError, TypeError):
        return False
    return True


@settings(max_examples=80, deadline=None)
@given(EDGES, st.sampled_from([lambda v: v, lambda v: [1, (2, {3: v})], lambda v: {v: "x"}]))
def test_bounded_accepts_exactly_what_torch_holds(value, wrap):
    """Every integer, however deep in a literal, is refused exactly when torch refuses it."""
    if torch_holds(value):
        assert bounded("--arg x", wrap(value)) == wrap(value)
    else:
        with pytest.raises(InputError, match=r"--arg x: .* does not fit in PyTorch.s 64-bit"):
            bounded("--arg x", wrap(value))


def test_long_integers_are_shortened_in_the_line():
    with pytest.raises(InputError, match=r"--nf: 100000… \(31 digits\) does not fit") as info:
        bounded("--nf", 10**30)
    assert len(str(info.value)) < 100


def test_fix_values_are_bounded_too():
    assert parse_fix([f"S={2**63 - 1}"]) == {"S": 2**63 - 1}
    with pytest.raises(InputError, match="--fix S: 9223372036854775808 does not fit"):
        parse_fix([f"S={2**63}"])


@pytest.mark.parametrize("text", ["10**30", "2^64", "2*(3+4)", "1/2"])
def test_arithmetic_in_arg_is_refused_not_passed_as_a_string(text):
    with pytest.raises(InputError, match="arithmetic is never evaluated"):
        constructor_args([f"x={text}"])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-5", -5),
        ("1e3", 1000.0),
        ("2020-01-01", "2020-01-01"),
        ("relu", "relu"),
        ("(3+4)", "(3+4)"),
    ],
)
def test_literals_and_plain_strings_pass(text, value):
    """ast.literal_eval's reading, or the string itself: what the constructor always got."""
    assert constructor_args([f"x={text}"]) == {"x": value}
