"""A problem's narrowest dimension and the rate it costs, worked by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archcount.engine.walk import prepare
from archcount.roofline.calibrate import NARROW, narrow_half, narrow_of
from archcount.roofline.hardware import Hardware, OpClass
from archcount.roofline.trace import trace_ops
from tests.archcount.roofline.test_predict import HW, TAU

aten = torch.ops.aten


def narrows(model, x):
    prepared = prepare(model, None, (x,), torch.float32, None, {}, None)
    return {o.op: o.narrow for o in trace_ops(prepared, "m") if o.narrow}


def test_a_linear_is_as_narrow_as_its_smallest_of_m_k_n():
    assert narrows(nn.Linear(16, 4), torch.randn(8, 16)) == {"aten.addmm": 4}  # M 8, K 16, N 4


@pytest.mark.parametrize(
    ("layer", "x", "expected"),
    [
        (nn.Conv2d(1, 32, 3), torch.randn(2, 1, 8, 8), 9),  # 32 out; 1 in × 9 taps
        (nn.Conv2d(64, 64, 3, groups=64), torch.randn(1, 64, 8, 8), 1),  # one channel a group
        (nn.ConvTranspose2d(16, 8, 4), torch.randn(1, 16, 5, 5), 8),  # 8 out; 16 in × 16 taps
    ],
)
def test_a_convolution_per_group(layer, x, expected):
    assert narrows(layer, x) == {"aten.convolution": expected}


class Attend(nn.Module):
    def forward(self, q):
        return F.scaled_dot_product_attention(q, q, q)


def test_attention_is_as_narrow_as_its_head_or_its_sequence():
    assert narrows(Attend(), torch.randn(1, 2, 64, 16)) == {"scaled_dot_product_attention": 16}
    assert narrows(Attend(), torch.randn(1, 2, 4, 16)) == {"scaled_dot_product_attention": 4}


def test_a_narrow_problem_runs_at_a_share_of_pi():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", narrow_half={"gemm": 16})
    # pi 1e9 at narrow 16 with d_half 16: half of it, 1e6 MACs in 2 ms; at 48: 3/4, 1.33 ms
    assert h.compute_s(OpClass.GEMM, "float32", 10**6, "aten.mm", 16) == pytest.approx(2e-3)
    assert h.compute_s(OpClass.GEMM, "float32", 10**6, "aten.mm", 48) == pytest.approx(4e-3 / 3)
    assert h.compute_s(OpClass.GEMM, "float32", 10**6, "aten.mm", 0) == pytest.approx(1e-3)
    assert h.compute_s(OpClass.CONV, "float32", 10**6, "aten.x", 16) == pytest.approx(2e-3)


def test_narrow_half_by_hand_and_the_calibration_kernels_widths():
    assert narrow_half(16, 0.25e9, 1e9) == 48  # 1/4 of pi at 16: 16 / (16 + 48)
    assert narrow_half(16, 2e9, 1e9) == 0  # no slower than the wide kernel
    cpu = NARROW["cpu"]  # GEMM K 16, conv 4 channels, attention E 16
    assert [narrow_of(c, cpu) for c in (OpClass.GEMM, OpClass.CONV, OpClass.ATTENTION)] == [
        16, 4, 16]  # fmt: skip


def test_the_spy_marks_views():
    prepared = prepare(nn.Linear(4, 2), None, (torch.randn(3, 4),), torch.float32, None, {}, None)
    ops = {o.op: o.view for o in trace_ops(prepared, "m")}
    assert ops == {"aten.t": True, "aten.addmm": False}
