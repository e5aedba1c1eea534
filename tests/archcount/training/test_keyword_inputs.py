"""Keyword inputs (--input NAME=SHAPE, hf: defaults) reach the training pass at every batch."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcount.training.cost import training_cost
from archcount.training.options import TrainingOptions


class Keyed(nn.Module):
    """A linear net whose forward takes its input by keyword only."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 5), nn.Linear(5, 3)

    def forward(self, *, features: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(features)))


def test_keyword_inputs_cost_what_positional_ones_do():
    with torch.device("meta"):
        model = Keyed()
    x = torch.zeros(4, 6, device="meta")
    cost = training_cost(model, (), TrainingOptions(batch=4), kwargs={"features": x})
    with FlopCounterMode(display=False) as fcm:
        model(features=x).sum().backward()
    forward = 4 * (6 * 5 + 5 * 3)
    total = fcm.get_total_flops() // 2
    # the first layer needs no input gradient: total = forward + weight grads + b's input grad
    assert cost.forward_macs == forward
    assert cost.forward_macs + cost.backward_macs == total
    assert cost.saved_bytes > 0
