"""What a run will cost, said before it starts: training MACs over its epochs, the peak memory.

Priced by archcount on the meta device (no memory, no arithmetic, no backward run): the net's
forward and backward multiply-adds per image (conv MACs; both grow exactly with the batch, so
a run is images × epochs of them, the last partial batch included), and the estimated peak of
one Adam step at the run's batch size (fp32: with --bf16 autocast it is an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from archcount.training.cost import training_cost
from archcount.training.options import Optimizer, TrainingOptions
from train.config import TrainConfig
from train.loop import build_model

SIZE = 32  # the homework's images are 32×32 gray


@dataclass(frozen=True)
class RunCost:
    """One run's cost: per image, over the run, and the peak of one step."""

    model: str
    epochs: int
    images: int
    batch: int
    forward_macs: int  # per image
    backward_macs: int  # per image
    peak_bytes: int  # one step at `batch`

    @property
    def total_macs(self) -> int:
        """Training multiply-adds of the whole run: (forward + backward) × images × epochs."""
        return (self.forward_macs + self.backward_macs) * self.images * self.epochs

    def line(self) -> str:
        """One line for the console."""
        return (
            f"{self.model}: {self.epochs} epochs × {self.images:,} images = "
            f"{self.total_macs:,} training MACs ({self.forward_macs:,} forward + "
            f"{self.backward_macs:,} backward per image); estimated peak at batch "
            f"{self.batch}: {self.peak_bytes / 2**20:.1f} MiB (Adam, fp32)"
        )


def run_cost(cfg: TrainConfig, images: int, num_colours: int) -> RunCost:
    """The cost of training cfg's net for cfg.epochs over `images` images."""
    with torch.device("meta"):
        model = build_model(cfg, num_colours)

    def step(batch: int):
        x = torch.zeros(batch, 1, SIZE, SIZE, device="meta")
        return training_cost(model, (x,), TrainingOptions(batch, Optimizer.ADAM))

    one = step(1)
    return RunCost(
        cfg.model,
        cfg.epochs,
        images,
        cfg.batch_size,
        one.forward_macs,
        one.backward_macs,
        step(cfg.batch_size).peak_bytes,
    )
