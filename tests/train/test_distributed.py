"""torchrun with 2 CPU processes (gloo): the ranks agree, and equal one process, resume too."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from train.config import TrainConfig
from train.data.cifar import load_colorization
from train.loop import train_model

ROOT = Path(__file__).resolve().parents[2]


def test_two_gloo_processes_train_as_one(tiny_cifar_dir, tiny_palette, tmp_path):
    np.save(tmp_path / "palette.npy", tiny_palette)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += [str(Path(__file__).with_name("ddp_worker.py"))]
    cmd += [str(tiny_cifar_dir), str(tmp_path / "palette.npy"), str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # One process, the same global batch of 5 (the ranks took 2 and 3 images of each step).
    data = load_colorization(tiny_cifar_dir, palette=tiny_palette)
    cfg = TrainConfig("PoolUpsampleNet", 2, batch_size=5, num_filters=4, device="cpu")
    single = train_model(cfg, data, tmp_path / "single")
    for epochs in (1, 2):  # after one epoch, and after --resume to a second
        r0, r1 = (torch.load(tmp_path / f"rank{r}_{epochs}.pt") for r in (0, 1))
        assert all(torch.equal(r0["state"][k], r1["state"][k]) for k in r0["state"])
        one = train_model(dataclasses.replace(cfg, epochs=epochs), data, tmp_path / f"s{epochs}")
        for k, v in one.state.items():
            # A conv bias feeding a BatchNorm has zero gradient in exact arithmetic; Adam turns
            # its rounding noise into lr-sized steps, so it (and the running mean it shifts)
            # differs between any two runs without changing any output.
            if k.endswith("weight"):
                torch.testing.assert_close(r0["state"][k].float(), v.float(), atol=2e-3, rtol=0)
        for a, b in zip(r0["metrics"], one.metrics, strict=True):
            for key in ("train_loss", "train_loss_pixel", "val_loss", "val_loss_pixel"):
                assert a[key] == pytest.approx(b[key], abs=1e-5), key
            for key in ("train_acc", "val_acc"):  # rounding may flip an argmax near a tie
                assert a[key] == pytest.approx(b[key], abs=2e-3), key
    doc = json.loads((tmp_path / "runs" / "PoolUpsampleNet" / "metrics.json").read_text())
    assert doc["config"]["world_size"] == 2 and len(doc["epochs"]) == 2
    assert single.metrics[-1]["train_loss"] == pytest.approx(
        doc["epochs"][-1]["train_loss"], abs=1e-5
    )
