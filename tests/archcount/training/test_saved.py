"""Saved bytes = the unique storages saved_tensors_hooks collect in a real CPU forward."""

import pytest
import torch
from training_nets import build, hooks_route

from archcount.training.cost import training_cost
from archcount.training.options import Precision, TrainingOptions

CASES = [
    "conv",
    "conv_transpose",
    "linear",
    "attention",
    "sdpa",
    "resnet_frozen_stem",
    "transformer",
    "PoolUpsampleNet",
    "ConvTransposeNet",
    "UNet",
]
DTYPES = {Precision.FP32: torch.float32, Precision.BF16: torch.bfloat16}


def saved(case: str, precision: Precision) -> int:
    model, x, freeze = build(case)  # fp32 on meta: the pass casts to the precision itself
    cost = training_cost(model, (x,), TrainingOptions(2, precision=precision, freeze=freeze))
    assert sum(r.saved_bytes for r in cost.layers) == cost.saved_bytes
    return cost.saved_bytes


@pytest.mark.parametrize("case", CASES)
def test_saved_bytes_equal_a_real_cpu_forward_fp32(case):
    assert saved(case, Precision.FP32) == hooks_route(case, torch.float32) > 0


@pytest.mark.parametrize("case", CASES)
def test_saved_bytes_equal_the_hooks_route_bf16(case):
    assert saved(case, Precision.BF16) == hooks_route(case, torch.bfloat16, "meta") > 0


def test_bf16_on_the_cpu_differs_only_by_norm_statistics():
    """The CPU's bf16 batch norm keeps its saved mean and inverse std in bf16; meta (as CUDA)
    in fp32: 2 statistics × 152 channels × 2 bytes more on meta for ConvTransposeNet."""
    cpu = hooks_route("ConvTransposeNet", torch.bfloat16)
    assert saved("ConvTransposeNet", Precision.BF16) - cpu == 2 * (32 + 64 + 32 + 24) * 2


def test_linear_relu_by_hand():
    """Linear(10→20) saves its input (the weight is a parameter); ReLU saves its output."""
    with torch.device("meta"):
        net = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU())
        x = torch.zeros(3, 10)
    cost = training_cost(net, (x,), TrainingOptions(batch=3))
    rows = {r.label: r.saved_bytes for r in cost.layers}
    assert rows == {"0": 3 * 10 * 4, "1": 3 * 20 * 4}


def test_a_view_saved_twice_counts_once():
    """h and h.view(...) are one storage: saved by both linears, counted once, by the first."""

    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)

        def forward(self, x):
            h = torch.relu(x)
            return self.a(h) + self.b(h.view(2, 4))

    with torch.device("meta"):
        x = torch.zeros(2, 4)
        cost = training_cost(Twice(), (x,), TrainingOptions(batch=2))
    rows = {r.label: r.saved_bytes for r in cost.layers}
    # x needs no grad, so relu saves nothing; each linear saves its input for its weight grad
    assert (cost.saved_bytes, rows["a"], rows["b"]) == (2 * 4 * 4, 2 * 4 * 4, 0)
