"""Element-wise work (one operation per element of the op's largest tensor) and the ops'
own rates, worked by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from archcount.roofline.elementwise import kernels, main_op, op_rates
from archcount.roofline.hardware import Hardware, OpClass
from archcount.roofline.ops import classified
from archcount.roofline.predict import op_time
from tests.archcount.roofline.test_predict import HW, TAU, op

aten = torch.ops.aten


def work(func, *args):
    out = func(*args)
    return classified(func, args, {}, out)


def test_a_pool_or_a_reduction_works_on_its_input_an_upsample_on_its_output():
    x = torch.randn(1, 2, 4, 4)  # 32 elements
    assert work(aten.max_pool2d_with_indices.default, x, [2, 2]) == (OpClass.ELEMENTWISE, 32)
    assert work(aten.sum.dim_IntList, x, [-1]) == (OpClass.ELEMENTWISE, 32)  # 8 out, 32 in
    assert work(aten.upsample_nearest2d.vec, x, None, [2.0, 2.0])[1] == 128  # 2·4·(8·8)


def test_a_gather_works_on_its_rows_not_its_table():
    table, ids = torch.randn(1000, 16), torch.tensor([1, 2, 3, 4])
    assert work(aten.embedding.default, table, ids)[1] == 4 * 16


def test_the_op_doing_a_calls_work():
    x, y = torch.randn(1, 2, 4, 4), torch.randn(3, 8)
    assert main_op(lambda: F.max_pool2d(x, 2)) == ("aten.max_pool2d_with_indices", 32)
    assert main_op(lambda: F.layer_norm(y, (8,))) == ("aten.native_layer_norm", 24)


def test_rates_and_half_work_fitted_on_two_sizes():
    def timer(fn, budget, device):  # every op: 2 µs + (work + 1,000) / 1e9
        return 2e-6 + (main_op(fn)[1] + 1_000) / 1e9

    # small calls 8,192 elements, large 262,144: the rate is the large call's, 262,144 / 263,144
    # of 1e9; half_work the small call's 9,192 / 1e9 s at that rate less its 8,192 (965)
    rate = 1e9 * 262_144 / 263_144
    expected = pytest.approx([rate, 9_192e-9 * rate - 8_192])
    rates = op_rates("cpu", 1.0, 2e-6, timer)
    assert rates["aten.relu"] == expected == rates["aten.max_pool2d_with_indices"]
    assert len(kernels("cpu")) >= len(rates) >= 15
    flat = op_rates("cpu", 1.0, 2e-6, lambda fn, b, d: 10e-6)  # no rise: all of it work
    assert flat["aten.relu"] == pytest.approx([8 * 32 * 32 * 32 / 8e-6, 8 * 32 * 32 * 32 - 8192])


def test_an_element_wise_op_runs_at_its_own_rate_when_measured():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", op_rates={"aten.x": [1e6, 500]})
    # (1,000 + 500) operations at 1e6/s = 1.5 ms (the class's 1e8/s: 10 µs); + tau 1 µs
    assert op_time(op(cls=OpClass.ELEMENTWISE, macs=1000), h).predicted_s == pytest.approx(
        1.5e-3 + 1e-6)  # fmt: skip
    assert h.compute_s(OpClass.ELEMENTWISE, "float32", 1000, "aten.y") == pytest.approx(1e-5)
    assert h.compute_s(OpClass.GEMM, "float32", 1000, "aten.x") == pytest.approx(1e-6)
