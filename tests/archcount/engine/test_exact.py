"""Exact connections against brute-force enumeration of every output unit and kernel tap."""

import itertools

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import archcount


def only_row(module, shape):
    (r,) = archcount.count(module, example_input=torch.zeros(shape)).layers
    return r


def brute_conv(c_in, c_out, groups, size, out, k, s, p, d):
    """Enumerate (output unit, input channel in its group, tap); count taps on real input."""
    per_group = c_in // groups
    n = 0
    for _co, *pos in itertools.product(range(c_out), *[range(o) for o in out]):
        for _ci in range(per_group):
            for taps in itertools.product(*[range(kk) for kk in k]):
                idx = [o * s - p + t * d for o, t in zip(pos, taps)]
                n += all(0 <= i < sz for i, sz in zip(idx, size))
    return n


def brute_transposed(c_in, c_out, groups, size, out, k, s, p, d):
    """Enumerate (input unit, output channel in its group, tap); count taps not cropped."""
    per_group = c_out // groups
    n = 0
    for _ci, *pos in itertools.product(range(c_in), *[range(i) for i in size]):
        for _co in range(per_group):
            for taps in itertools.product(*[range(kk) for kk in k]):
                idx = [i * s - p + t * d for i, t in zip(pos, taps)]
                n += all(0 <= j < sz for j, sz in zip(idx, out))
    return n


layer = st.fixed_dictionaries(
    {
        "dims": st.sampled_from([1, 2]),
        "groups": st.sampled_from([1, 2]),
        "k": st.integers(1, 4),
        "s": st.integers(1, 3),
        "d": st.integers(1, 2),
        "p": st.integers(0, 3),
        "size": st.integers(1, 7),
    }
)


@settings(max_examples=60, deadline=None)
@given(layer)
def test_conv_exact_is_brute_force(c):
    dims, g = c["dims"], c["groups"]
    extent = c["d"] * (c["k"] - 1) + 1
    if c["size"] + 2 * c["p"] < extent:
        return  # PyTorch refuses: the kernel does not fit
    conv = [nn.Conv1d, nn.Conv2d][dims - 1](
        2 * g, 2 * g, c["k"], stride=c["s"], padding=c["p"], dilation=c["d"], groups=g
    )
    r = only_row(conv, (1, 2 * g) + (c["size"],) * dims)
    out = r.output_shape[2:]
    expected = brute_conv(
        2 * g, 2 * g, g, (c["size"],) * dims, out, (c["k"],) * dims, c["s"], c["p"], c["d"]
    )
    assert r.connections_exact == expected
    assert r.connections == 2 * g * (2 * g // g) * c["k"] ** dims * len(
        list(itertools.product(*[range(o) for o in out]))
    )


@settings(max_examples=60, deadline=None)
@given(layer, st.integers(0, 2))
def test_transposed_exact_is_brute_force(c, op):
    dims, g, s, d = c["dims"], c["groups"], c["s"], c["d"]
    if op >= max(s, d):
        op = 0  # PyTorch's constraint: output_padding < max(stride, dilation)
    p = min(c["p"], d * (c["k"] - 1))  # a larger padding would crop to nothing
    convt = [nn.ConvTranspose1d, nn.ConvTranspose2d][dims - 1](
        2 * g, 3 * g, c["k"], stride=s, padding=p, dilation=d, groups=g, output_padding=op
    )
    size = (c["size"],) * dims
    if any((i - 1) * s - 2 * p + d * (c["k"] - 1) + op + 1 <= 0 for i in size):
        return
    r = only_row(convt, (1, 2 * g, *size))
    expected = brute_transposed(
        2 * g, 3 * g, g, size, r.output_shape[2:], (c["k"],) * dims, s, p, d
    )
    assert r.connections_exact == expected
    assert r.connections == 2 * g * c["size"] ** dims * 3 * c["k"] ** dims


@settings(max_examples=40, deadline=None)
@given(layer)
def test_exact_equals_ones_convolution(c):
    """Independent route: conv of all-ones input with all-ones weights sums the real taps."""
    extent = c["d"] * (c["k"] - 1) + 1
    if c["size"] + 2 * c["p"] < extent:
        return
    g = c["groups"]
    conv = nn.Conv2d(
        2 * g, 4, c["k"], stride=c["s"], padding=c["p"], dilation=c["d"], groups=g, bias=False
    )
    x = torch.ones(1, 2 * g, c["size"], c["size"] + 1)
    ones = F.conv2d(
        x, torch.ones_like(conv.weight), None, conv.stride, conv.padding, conv.dilation, g
    )
    assert only_row(conv, x.shape).connections_exact == int(ones.sum())


def test_maxpool_padding_and_ceil_mode_exact():
    pool = nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True)
    r = only_row(pool, (1, 1, 6))
    # out 4 windows over [-1..1], [1..3], [3..5], [5..7]: real taps 2 + 3 + 3 + 1
    assert r.output_shape == (1, 1, 4)
    assert (r.connections, r.connections_exact) == (12, 9)
