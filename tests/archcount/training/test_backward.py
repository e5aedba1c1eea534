"""Backward MACs from the forward's op rules = FlopCounterMode's backward FLOPs / 2."""

import pytest
import torch
from training_nets import CASES, build, flop_route

from archcount.training.cost import training_cost
from archcount.training.options import TrainingOptions


def ours(case: str):
    model, x, freeze = build(case)
    return training_cost(model, (x,), TrainingOptions(batch=2, freeze=freeze))


@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_macs_are_half_of_flop_counter_backward(case):
    forward, backward, _ = flop_route(case)
    cost = ours(case)
    assert backward > 0
    assert 2 * cost.forward_macs == forward
    assert 2 * cost.backward_macs == backward


@pytest.mark.parametrize("case", ["conv", "conv_transpose", "linear", "PoolUpsampleNet", "UNet"])
def test_each_layer_matches_flop_counter_module(case):
    """FlopCounterMode's per-module forward + backward FLOPs, layer by layer."""
    _, _, per = flop_route(case)
    cost = ours(case)
    root = type(build(case)[0]).__name__
    for row in cost.layers:
        if row.forward_macs:
            assert 2 * (row.forward_macs + row.backward_macs) == per[f"{root}.{row.label}"]


def test_weight_gradients_are_the_trainable_layers_forward():
    """Weight-grad MACs = forward MACs of each layer whose weight trains; a frozen one has none."""
    cost = ours("resnet_frozen_stem")
    rows = {r.label: r for r in cost.layers}
    stem = rows["0.0"]
    assert stem.forward_macs > 0
    assert stem.backward_weight_macs == stem.backward_input_macs == 0
    # the first trainable conv's input comes from the frozen stem: no input gradient
    first = rows["1.c1"]
    assert first.backward_input_macs == 0
    assert first.backward_weight_macs == first.forward_macs
    later = rows["1.c2"]
    assert later.backward_input_macs == later.backward_weight_macs == later.forward_macs


def test_nothing_trainable_means_no_backward():
    model, x, _ = build("PoolUpsampleNet")
    cost = training_cost(model, (x,), TrainingOptions(batch=2, freeze=("*",)))
    assert cost.backward_macs == cost.saved_bytes == cost.grad_bytes == cost.optimizer_bytes == 0
    assert cost.forward_macs > 0
    assert all(p.requires_grad for p in model.parameters())  # the globs are undone


def test_grouped_conv_by_hand():
    """groups=4: each gradient costs the forward's N·H·W·C_out·(C_in/g)·k² (FlopCounterMode
    prices the weight gradient with C_in, not C_in/g: 4× too much, so the hand is the route)."""
    with torch.device("meta"):
        conv = torch.nn.Conv2d(8, 12, 3, padding=1, groups=4)
        x = torch.zeros(2, 8, 5, 5, requires_grad=True)
    cost = training_cost(conv, (x,), TrainingOptions(batch=2))
    f = 2 * 5 * 5 * 12 * (8 // 4) * 9
    assert (cost.forward_macs, cost.backward_input_macs, cost.backward_weight_macs) == (f, f, f)
