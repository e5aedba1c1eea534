"""train.cost: the run's training MACs against FlopCounterMode over a real epoch's batches."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from train.config import TrainConfig
from train.cost import run_cost
from train.loop import build_model


@pytest.mark.parametrize("net", ["PoolUpsampleNet", "ConvTransposeNet"])
def test_run_macs_are_flop_counter_over_every_batch(net):
    """250 images at batch 100 are batches of 100, 100 and 50; two epochs of them."""
    cfg = TrainConfig(net, epochs=2, batch_size=100, num_filters=8)
    cost = run_cost(cfg, images=250, num_colours=6)
    with torch.device("meta"):
        model = build_model(cfg, 6).train()
    counter = FlopCounterMode(display=False)
    with counter:
        for batch in (100, 100, 50):
            x = torch.zeros(batch, 1, 32, 32, device="meta")
            y = torch.zeros(batch, 32, 32, dtype=torch.long, device="meta")
            F.cross_entropy(model(x), y).backward()
    assert cost.total_macs == 2 * counter.get_total_flops() // 2
    assert "estimated peak at batch 100" in cost.line()
    assert f"{cost.total_macs:,} training MACs" in cost.line()
