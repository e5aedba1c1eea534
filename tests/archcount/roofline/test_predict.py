"""Predicted time per op and row: max(MACs/pi, bytes/beta) + tau, worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archcount.roofline.hardware import Hardware, OpClass
from archcount.roofline.ops import OpCost
from archcount.roofline.predict import Bound, op_time, rows_of

RATES = {"gemm": 1e9, "conv": 5e8, "attention": 2e8, "elementwise": 1e8}
TAU = dict.fromkeys(RATES, 1e-6) | {"conv": 3e-6}
HW = Hardware("toy", "cpu", {c: {"float32": r} for c, r in RATES.items()}, 1e9, TAU, "hand")


def op(row="a", cls=OpClass.GEMM, macs=0, read=0, written=0, backward=False, dtype="float32"):
    return OpCost(row, None, "aten.x", backward, cls, dtype, macs, read, written)


def test_compute_bound_gemm():
    c = op_time(op(macs=4_000_000, read=1_000, written=1_000), HW)
    # 4e6 MACs at 1e9/s = 4 ms; 2,000 bytes at 1e9 B/s = 2 µs; + 1 µs
    assert c.predicted_s == pytest.approx(4e-3 + 1e-6)
    assert c.bound is Bound.COMPUTE and c.intensity == 2_000


def test_memory_bound_elementwise_and_dtype_falls_back_to_fp32():
    c = op_time(op(cls=OpClass.ELEMENTWISE, macs=1_000, read=8_000_000, written=4_000_000,
                   dtype="bfloat16"), HW)  # fmt: skip
    # 1,000 at 1e8/s = 10 µs < 12e6 B at 1e9 B/s = 12 ms
    assert c.predicted_s == pytest.approx(12e-3 + 1e-6) and c.bound is Bound.MEMORY


def test_bytes_within_the_cache_move_at_its_bandwidth():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", beta_cache=1e10, cache_bytes=1_000)
    small = op_time(op(cls=OpClass.ELEMENTWISE, read=600, written=400), h)
    big = op_time(op(cls=OpClass.ELEMENTWISE, read=600, written=401), h)
    assert small.memory_s == pytest.approx(1_000 / 1e10)
    assert big.memory_s == pytest.approx(1_001 / 1e9)


def test_tau_is_per_class():
    c = op_time(op(cls=OpClass.CONV, macs=500, read=4, written=4), HW)
    assert c.predicted_s == pytest.approx(500 / 5e8 + 3e-6) and c.overhead_s == 3e-6


def test_tiny_ops_are_overhead_bound_and_rows_sum_their_ops():
    ops = [op(macs=10, read=40, written=40), op(macs=10, read=40, written=40), op(row="b")]
    a, b = rows_of(ops, HW, training=False)
    assert (a.label, a.forward.ops, b.forward.ops) == ("a", 2, 1)
    assert a.forward.bound is Bound.OVERHEAD and b.forward.bound is Bound.OVERHEAD
    assert a.forward.predicted_s == pytest.approx(2 * (80 / 1e9 + 1e-6))
    assert a.backward is None


def test_without_hardware_times_are_unknown_bytes_known():
    (row,) = rows_of([op(macs=5, read=8, written=4)], None, training=True)
    assert row.forward.predicted_s is None and row.forward.bound is None
    assert row.forward.to_dict()["bytes_read"] == 8 and row.backward.ops == 0


sizes = st.integers(0, 10**12)


@given(st.lists(st.tuples(st.sampled_from(list(OpClass)), sizes, sizes, sizes, st.booleans(),
                          st.sampled_from("abc")), max_size=30))  # fmt: skip
def test_rows_split_every_op_time_once(specs):
    ops = [op(r, c, m, rd, w, bw) for c, m, rd, w, bw, r in specs]
    rows = rows_of(ops, HW, training=True)
    expected = sum(
        max(m / RATES[c.value], (rd + w) / 1e9) + TAU[c.value] for c, m, rd, w, _, _ in specs
    )
    got = sum(r.forward.predicted_s + r.backward.predicted_s for r in rows)
    assert got == pytest.approx(expected)
    for r in rows:
        parts = (r.forward.compute_s, r.forward.memory_s, r.forward.overhead_s)
        assert r.forward.overhead_s >= r.forward.ops * 1e-6 - 1e-12
        assert (
            r.forward.ops == 0
            or max(parts)
            == {Bound.COMPUTE: parts[0], Bound.MEMORY: parts[1], Bound.OVERHEAD: parts[2]}[
                r.forward.bound
            ]
        )


def test_half_work_slows_little_work_and_leaves_none_alone():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", half_work={"gemm": 1e6})
    # 1e6 MACs with half_work 1e6 at 1e9/s: (1e6 + 1e6) / 1e9 = 2 ms, pi_eff = pi / 2
    assert h.compute_s(OpClass.GEMM, "float32", 10**6) == pytest.approx(2e-3)
    assert h.compute_s(OpClass.GEMM, "float32", 0) == 0  # a gemm on no work costs no compute
    assert h.compute_s(OpClass.CONV, "float32", 10**6) == pytest.approx(2e-3)  # conv: none
    c = op_time(op(macs=3 * 10**6, read=8, written=8), h)
    assert c.compute_s == pytest.approx(4e-3) and c.predicted_s == pytest.approx(4e-3 + 1e-6)


def test_profiled_tau_replaces_tau_for_the_profiler_comparison():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", tau_profiled=dict.fromkeys(TAU, 7e-6))
    assert op_time(op(), h.profiled()).overhead_s == 7e-6
    assert op_time(op(), h).overhead_s == 1e-6 and HW.profiled() is HW  # none measured


def test_a_view_costs_a_views_tau_and_the_profiled_one_under_the_profiler():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", tau_profiled=dict.fromkeys(TAU, 7e-6),
                 tau_view=0.25e-6, tau_view_profiled=0.5e-6)  # fmt: skip
    view = OpCost("a", None, "aten.t", False, OpClass.ELEMENTWISE, "float32", 0, 0, 0, view=True)
    assert op_time(view, h).predicted_s == 0.25e-6 and op_time(op(), h).overhead_s == 1e-6
    assert op_time(view, h.profiled()).predicted_s == 0.5e-6
    assert op_time(view, HW).predicted_s == 1e-6  # no view tau measured: the class's
