"""What README's 25-epoch table rests on: at a fixed thread count a run repeats to the last bit
(weights seeded, batch order fixed); the thread count itself is part of the setting."""

import dataclasses

import pytest
import torch

from train.config import TrainConfig
from train.loop import train_model

FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("model", ["PoolUpsampleNet", "ConvTransposeNet", "UNet"])
def test_runs_at_the_same_thread_count_are_equal(tiny_data, tmp_path, threads, model):
    cfg = TrainConfig(model=model, epochs=2, batch_size=4, num_filters=4)
    cfg = dataclasses.replace(cfg, device="cpu")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        runs = [train_model(cfg, tiny_data, tmp_path / str(i)).metrics for i in range(2)]
    finally:
        torch.set_num_threads(before)
    first, second = ([{k: row[k] for k in FIELDS} for row in run] for run in runs)
    assert first == second  # exactly: not approximately
