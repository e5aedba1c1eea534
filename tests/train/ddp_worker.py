"""Run under torchrun by test_distributed: train 1 epoch, resume to 2, save this rank's weights."""

import sys
from pathlib import Path

import numpy as np
import torch

from train import distributed
from train.cli import run_training
from train.config import TrainConfig

data_dir, palette, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
rank = distributed.from_env().rank
for epochs, resume in ((1, False), (2, True)):
    cfg = TrainConfig("PoolUpsampleNet", epochs, batch_size=5, num_filters=4, device="cpu")
    (result,) = run_training([cfg], data_dir, palette, out / "runs", resume)
    torch.save({"state": result.state, "metrics": result.metrics}, out / f"rank{rank}_{epochs}.pt")
np.save(out / f"done{rank}.npy", np.ones(1))
