"""A grouped (depthwise) convolution at its own calibrated rate, worked by hand."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from archcount.engine.walk import prepare
from archcount.errors import InputError
from archcount.roofline import calibrate as cal
from archcount.roofline.hardware import Hardware, OpClass, from_dict
from archcount.roofline.predict import op_time
from archcount.roofline.trace import trace_ops
from tests.archcount.roofline.test_predict import HW, TAU, op


def grouped(model, x, training=False):
    prepared = prepare(model, None, (x,), torch.float32, None, {}, None)
    ops = trace_ops(prepared, "m", training)
    return [(o.backward, o.grouped) for o in ops if "conv" in o.op]


def test_only_a_forward_convolution_with_groups_is_grouped():
    x = torch.randn(1, 8, 6, 6)
    assert grouped(nn.Conv2d(8, 8, 3, groups=8), x) == [(False, True)]  # depthwise
    assert grouped(nn.Conv2d(8, 8, 3, groups=2), x) == [(False, True)]  # 2 groups of 4
    assert grouped(nn.Conv2d(8, 8, 3), x) == [(False, False)]
    assert grouped(nn.Linear(6, 6), x) == []
    # its backward is not timed as the depthwise forward kernel (it was not measured)
    assert grouped(nn.Conv2d(8, 8, 3, groups=8), x, training=True)[-1] == (True, False)


def test_a_grouped_convolution_runs_at_the_depthwise_rate():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", grouped=[1e8, 5e5])
    # (1e6 MACs + 5e5 half_work) / 1e8 MACs/s = 15 ms; a plain conv: 1e6 / 5e8 = 2 ms
    assert h.compute_s(OpClass.CONV, "float32", 10**6, grouped=True) == pytest.approx(15e-3)
    assert h.compute_s(OpClass.CONV, "float32", 10**6) == pytest.approx(2e-3)
    # uncalibrated (no depthwise rate): the conv class's pi, as before
    assert HW.compute_s(OpClass.CONV, "float32", 10**6, grouped=True) == pytest.approx(2e-3)


def test_op_time_passes_the_flag():
    h = Hardware("toy", "cpu", HW.pi, 1e12, TAU, "hand", grouped=[1e8, 0.0])
    depthwise = replace(op("a", OpClass.CONV, 10**6), grouped=True)
    # 1e6 / 1e8 = 10 ms of compute, plus the conv class's tau 3 µs
    assert op_time(depthwise, h).predicted_s == pytest.approx(10e-3 + 3e-6)


def test_depthwise_fits_rate_and_half_work_from_its_two_calls(monkeypatch):
    # a machine where t = 10 µs + (MACs + 1e5) / 1e9: the small call 36,864 MACs (1x16x16x16,
    # 9 taps), the large 4,718,592 (8x64x32x32, 9 taps)
    def timer(fn, budget, device):
        x = fn.__defaults__[0]
        return 1e-5 + (x.numel() * 9 + 1e5) / 1e9

    monkeypatch.setattr(cal, "seconds_per_call", timer)
    rate, half = cal.depthwise("cpu", 1.0, 1e-5)
    # rate: the large call's work over its time beyond tau, 4,718,592 / 4.818592 ms
    assert rate == pytest.approx(4718592 / 4.818592e-3)
    # half_work: the small call's time beyond tau at that rate, less its work
    assert half == pytest.approx(rate * 136864e-9 - 36864)


def test_grouped_round_trips_and_is_validated():
    h = Hardware("toy", "cpu", HW.pi, 1e9, TAU, "hand", grouped=[2e9, 1e5])
    assert from_dict(json.loads(json.dumps(h.to_dict())), "x") == h
    for bad in ([0, 1], [1e9], [1e9, -1], "fast", [1e9, True]):
        with pytest.raises(InputError, match="grouped"):
            from_dict(h.to_dict() | {"grouped": bad}, "x")
    old = h.to_dict()
    del old["grouped"]
    assert from_dict(old, "x").grouped == []
