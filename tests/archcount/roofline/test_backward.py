"""--time --training: the backward's ops are charged to the rows whose forward made them."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archcount.engine.walk import prepare
from archcount.roofline.hardware import OpClass
from archcount.roofline.trace import OUTSIDE, trace_ops
from models import ConvTransposeNet, PoolUpsampleNet, UNet


@pytest.mark.parametrize("cls", [PoolUpsampleNet, ConvTransposeNet, UNet])
def test_backward_macs_are_flop_counters_halved(cls):
    """Every conv and GEMM MAC of a real backward, as FlopCounterMode counts it (2 per MAC)."""
    torch.manual_seed(0)
    model, x = cls().train(), torch.randn(2, 1, 32, 32)
    counter = FlopCounterMode(display=False)
    out = model(x)
    with counter:
        out.backward(torch.ones_like(out))
    ops = trace_ops(prepare(cls().to("meta"), (2, 1, 32, 32)), "m", training=True)
    heavy = [o for o in ops if o.backward and o.op_class is not OpClass.ELEMENTWISE]
    assert sum(o.macs for o in heavy) * 2 == counter.get_total_flops()


def test_each_layer_charged_its_own_backward():
    """A conv's backward is on the conv's row (its convolution_backward), not elsewhere."""
    model = PoolUpsampleNet().to("meta")
    ops = trace_ops(prepare(model, (2, 1, 32, 32)), "m", training=True)
    convs = {o.row for o in ops if o.backward and o.op == "aten.convolution_backward"}
    forward_convs = {o.row for o in ops if not o.backward and o.op == "aten.convolution"}
    assert convs == forward_convs and len(convs) == 5
    # a first layer needs no input gradient: its convolution_backward reads x, writes dW, db
    (first,) = [o for o in ops if o.backward and o.row == "layer1.0" and o.macs]
    assert first.macs == 2 * 32 * 32 * 32 * 1 * 9  # the weight gradient only: B·C_out·H·W·C_in·k²
    assert all(o.row != OUTSIDE or o.macs == 0 for o in ops)
