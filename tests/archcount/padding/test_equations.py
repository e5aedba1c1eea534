"""Padding solver: real PyTorch layers agree with every solution, brute force finds no other."""

from itertools import product

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from archcount.errors import InputError
from archcount.front.padding import solve_target
from archcount.front.request import CountRequest
from archcount.padding.equations import Op, PaddingError, equation, solve, solve_one
from models import ConvTransposeNet, PoolUpsampleNet
from models._kernel import KernelError

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
TRANSPOSED = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


# --- the PyTorch docs' shape equations, written out again independently of the solver ---
def docs_conv(n, k, s, d, total_pad):
    return (n + total_pad - d * (k - 1) - 1) // s + 1


def docs_transposed(n, k, s, d, p, op):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def brute_axis(op, k, s, d, n, out):
    """(symmetric (p, op) pairs, totals that work asymmetrically) by trying everything small."""
    bound = (n + out + 1) * s + d * k + 4  # past the largest pad (conv) and crop (transposed)
    if op is Op.CONV:
        fits = [t for t in range(2 * bound) if n + t >= d * (k - 1) + 1]
        totals = {t for t in fits if docs_conv(n, k, s, d, t) == out}
        return {(t // 2, None) for t in totals if t % 2 == 0}, totals
    pairs = {
        (p, o)
        for p in range(bound)
        for o in range(max(s, d))
        if docs_transposed(n, k, s, d, p, o) == out
    }
    full = docs_transposed(n, k, s, d, 0, 0)
    return pairs, {full + o - out for o in range(max(s, d)) if full + o - out >= 0}


def real_output(eq, solution):
    """Spatial size of a real layer (meta tensors) built with `solution`; F.pad when asymmetric."""
    dims, pads = eq.dims, solution.pads
    x = torch.zeros(1, 1, *eq.size_in, device="meta")
    kw = {"kernel_size": eq.kernel, "stride": eq.stride, "dilation": eq.dilation}
    pad_arg = tuple(p.before for p in pads) if solution.symmetric else 0
    flat = [v for p in reversed(pads) for v in (p.before, p.after)]  # F.pad: last dim first
    if eq.op is Op.CONV:
        if not solution.symmetric:
            x = F.pad(x, flat)
        y = CONV[dims](1, 1, padding=pad_arg, device="meta", **kw)(x)
    else:
        ops = tuple(p.output_padding for p in pads)
        y = TRANSPOSED[dims](1, 1, padding=pad_arg, output_padding=ops, device="meta", **kw)(x)
        if not solution.symmetric:
            y = F.pad(y, [-v for v in flat])  # negative pads crop
    return tuple(y.shape[2:])


def unpadded(op, k, s, d, n):
    """Output size with no padding (and no output_padding)."""
    return docs_conv(n, k, s, d, 0) if op is Op.CONV else docs_transposed(n, k, s, d, 0, 0)


@st.composite
def equations(draw):
    op = draw(st.sampled_from(list(Op)))
    dims = draw(st.integers(1, 3))
    axis = st.tuples(
        st.integers(1, 7),
        st.integers(1, 4),
        st.integers(1, 3),
        st.integers(1, 20),
        st.integers(1, 45),
    )
    same = draw(st.booleans())  # the usual question: the same in every dim
    axes = [draw(axis)] * dims if same else [draw(axis) for _ in range(dims)]
    k, s, d, n, out = zip(*axes)
    if draw(st.integers(0, 2)) == 0:  # stride = dilation = 1: where only unequal pads work
        s = d = (1,) * dims
    if draw(st.booleans()):  # aim near a reachable size so that solutions are common
        plain = [unpadded(op, *a) for a in zip(k, s, d, n)]
        out = tuple(max(1, o + draw(st.integers(-4, 4))) for o in plain)
    return equation(op, k, s, d, n, out, dims)


@settings(max_examples=150, deadline=None)
@given(equations())
def test_every_solution_gives_the_size_and_none_is_missed(eq):
    answer = solve(eq)
    per_axis = [brute_axis(eq.op, *eq.axis(i)) for i in range(eq.dims)]
    if any(not sym and not totals for sym, totals in per_axis):
        assert answer.solutions == () and answer.reason
        return
    assert answer.reason is None and answer.solutions
    for solution in answer.solutions:
        assert real_output(eq, solution) == eq.size_out
    for i, (sym, totals) in enumerate(per_axis):
        found = {s.pads[i] for s in answer.solutions}
        if sym:  # PyTorch's padding= can do it: every symmetric pair, nothing else
            assert {(p.before, p.output_padding) for p in found} == sym
            assert all(p.symmetric for p in found)
        else:  # only unequal pads: every total, split as padding='same' does (extra after)
            assert {p.before + p.after for p in found} == totals
            assert all(p.before == (p.before + p.after) // 2 for p in found)
    per_dim = [{s.pads[i] for s in answer.solutions} for i in range(eq.dims)]
    assert {s.pads for s in answer.solutions} == set(product(*per_dim))  # dims independent
    assert len(answer.solutions) == len(set(product(*per_dim)))  # no duplicates
    sizes = [sum(p.before + p.after for p in s.pads) for s in answer.solutions]
    assert sizes == sorted(sizes)  # smallest first


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("op", list(Op))
@pytest.mark.parametrize("k", [2, 4, 6])
def test_even_kernels_keeping_the_size_need_unequal_pads(op, k, dims):
    eq = equation(op, k, 1, 1, 9, 9, dims)
    (only,) = solve(eq).solutions
    assert only.padding == ((k - 1) // 2, k // 2) and real_output(eq, only) == (9,) * dims


@pytest.mark.parametrize(("k", "padding", "output_padding"), [(3, 1, 1), (4, 1, 0), (5, 2, 1)])
def test_homework_transposed_answers(k, padding, output_padding):
    best = solve_one("transposed", k, 2, 1, 8, 16).solutions[0]
    assert (best.padding, best.output_padding) == (padding, output_padding)


def test_even_kernel_at_stride_one_is_asymmetric_and_says_same():
    answer = solve_one("conv", 4, 1, 1, 32, 32)
    assert not answer.symmetric and answer.solutions[0].padding == (1, 2)
    assert "padding='same'" in answer.pytorch
    off_size = solve_one("conv", 3, 1, 1, 32, 31)  # 'same' would keep 32: pad by hand
    assert off_size.solutions[0].padding == (0, 1)
    assert "nn.ZeroPad2d((0, 1, 0, 1))" in off_size.pytorch
    crop = solve_one("transposed", 4, 1, 1, 32, 32)
    assert crop.solutions[0].padding == (1, 2) and "F.pad(y, (-1, -2, -1, -2))" in crop.pytorch


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("conv", 3, 0, 1, 32, 32), "stride"),
        (("conv", 0, 1, 1, 32, 32), "kernel"),
        (("conv", 3, 1, 0, 32, 32), "dilation"),
        (("conv", 3, 1, 1, -1, 32), "in"),
        (("conv", 3, 1, 1, 32, 0), "out"),
        (("conv", 3, 1, 1, 32, 32, 4), "dims"),
        (("conv", (3, 3), 1, 1, 32, 32, 3), "kernel has 2 values for 3 dims"),
        (("pool", 3, 1, 1, 32, 32), "conv or transposed"),
        (("conv", True, 1, 1, 32, 32), "kernel"),
    ],
)
def test_bad_questions_are_input_errors(args, message):
    with pytest.raises(PaddingError, match=message) as info:
        solve_one(*args)
    assert isinstance(info.value, InputError)


def test_impossible_requests_say_why():
    assert "can only grow" in solve_one("conv", 7, 1, 1, 32, 20).reason
    assert "largest output is 19 < 30" in solve_one("transposed", 4, 2, 1, 8, 30).reason


# --- model mode and the nets ---
def layers(target, k, **kw):
    return {x.name: x for x in solve_target(CountRequest(target, **kw), k).layers}


@pytest.mark.parametrize(("k", "padding", "output_padding"), [(4, 1, 0), (5, 2, 1)])
def test_model_mode_gives_the_homework_answer(k, padding, output_padding):
    rows = layers("models.ConvTransposeNet", k)
    for name in ("layer3.0", "layer4.0"):
        best = rows[name].best
        assert (best.padding, best.output_padding) == (padding, output_padding)
    assert rows["layer1.0"].best.padding == rows["layer2.0"].best.padding == padding
    last = rows["layer5"]
    assert last.answer.symmetric == (k % 2 == 1)  # flagged for even k
    assert last.best.padding == ((1, 2) if k == 4 else 2)
    assert all(row.keeps for row in rows.values())


def test_model_mode_solves_any_conv_model(toys_importable):
    rows = layers("padding_toys.Mixed1d", 4, input_shape=(2, 30))
    assert [rows[n].keeps for n in ("dilated", "down", "up", "fixed")] == [False] * 3 + [True]
    assert rows["dilated"].best.padding == 3 and rows["up"].best.output_padding == 1
    vol = layers("padding_toys.Volume", 5, input_shape=(1, 6, 16, 16))
    assert vol["up"].best.output_padding == (0, 1, 1) and vol["up"].best.padding == 2
    grow = layers("padding_toys.Grow", 1, input_shape=(1, 32, 32))
    assert grow["up"].best is None and "largest output" in grow["up"].answer.reason
    assert grow["up"].to_dict()["padding"] is None


def reference_shapes(cls, k):
    """Output shape of every conv call (whole batch) on a meta 2x3x32x32 input."""
    with torch.device("meta"):
        model = cls(kernel=k, num_filters=4, num_colours=5, num_in_channels=3)
    shapes = []
    handles = [
        m.register_forward_hook(lambda m, a, y: shapes.append(tuple(y.shape)))
        for m in model.modules()
        if isinstance(m, nn.modules.conv._ConvNd)
    ]
    model(torch.zeros(2, 3, 32, 32, device="meta"))
    for h in handles:
        h.remove()
    return shapes


SIDES = [16, 8, 16, 32, 32]  # after layer1..layer5 of both nets


@pytest.mark.parametrize("k", range(1, 10))
@pytest.mark.parametrize("cls", [PoolUpsampleNet, ConvTransposeNet])
def test_nets_keep_their_shapes_at_every_kernel(cls, k):
    shapes = reference_shapes(cls, k)
    if cls is PoolUpsampleNet:  # pools and upsamples sit after the convs
        assert [s[-1] for s in shapes] == [32, 16, 8, 16, 32]
    else:
        assert [s[-1] for s in shapes] == SIDES
    assert [s[1] for s in shapes] == [4, 8, 4, 5, 5]
    assert shapes == reference_shapes(cls, 3)


def test_k3_keeps_its_paddings():
    net = ConvTransposeNet()
    assert net.layer1[0].padding == (1, 1) and net.layer5.padding == (1, 1)
    assert net.layer3[0].padding == (1, 1) and net.layer3[0].output_padding == (1, 1)
    assert all(m.padding == (1, 1) for m in PoolUpsampleNet().modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("kernel", [0, -1, True, 2.0])
@pytest.mark.parametrize("cls", [PoolUpsampleNet, ConvTransposeNet])
def test_nets_refuse_non_kernels(cls, kernel):
    with pytest.raises(KernelError, match="positive integer"):
        cls(kernel=kernel)
