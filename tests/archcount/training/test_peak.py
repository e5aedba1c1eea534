"""The estimated peak against MemTracker around a real training step (meta), and --fit's batch.

Tolerance, explained: the estimate holds every gradient, but the real peak of these nets is
at the start of the backward (grads set to None, all saved activations alive), so it is high
by grad_bytes; the targets of the loss are not modelled (int64 class indices here), so it is
low by their bytes. What remains after those two terms is under 1 KiB (the loss scalar).
"""

import pytest
from training_nets import build, tracked_peak

from archcount.training.cost import training_cost
from archcount.training.fit import fit_batch
from archcount.training.options import Optimizer, TrainingOptions


@pytest.mark.parametrize("optimizer", list(Optimizer))
@pytest.mark.parametrize(
    "case",
    ["PoolUpsampleNet", "ConvTransposeNet", "UNet"],  # MemTracker refuses frozen params
)
def test_peak_against_mem_tracker(case, optimizer):
    peak, targets = tracked_peak(case, 100, optimizer)
    model, x, freeze = build(case, batch=100)
    cost = training_cost(model, (x,), TrainingOptions(100, optimizer, freeze=freeze))
    assert 0 <= peak - (cost.peak_bytes - cost.grad_bytes + targets) < 1024


def test_fit_batch_fits_and_one_more_does_not():
    """The solve for 64 MiB, confirmed by MemTracker less the targets (which the estimate leaves
    out): B fits; B + 1 does not, since b (per example) exceeds grad_bytes (the overestimate)."""

    def cost_at(b):
        model, x, _ = build("ConvTransposeNet", batch=b)
        return training_cost(model, (x,), TrainingOptions(b))

    limit = 64 * 2**20
    fit = fit_batch(cost_at, limit)
    assert fit.peak <= limit < fit.peak_next
    assert fit.peak == fit.fixed + fit.batch * fit.per_example
    assert fit.per_example > cost_at(1).grad_bytes
    peak, targets = tracked_peak("ConvTransposeNet", fit.batch, Optimizer.ADAM)
    assert peak - targets <= limit
    peak, targets = tracked_peak("ConvTransposeNet", fit.batch + 1, Optimizer.ADAM)
    assert peak - targets > limit
