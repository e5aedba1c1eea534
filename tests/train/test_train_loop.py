"""The loop on CPU: it learns on real pictures, resumes exactly, stops on NaN, writes its files."""

import dataclasses
import json
import math
import subprocess
import sys

import pytest
import torch

from train import loop
from train.config import TrainConfig
from train.data.cifar import load_colorization
from train.errors import TrainError
from train.loop import train_model

FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")


def _cfg(**kw):
    """A CPU run small enough for a test: NF 4, batch 4, 3 epochs."""
    base = TrainConfig(model="ConvTransposeNet", epochs=3, batch_size=4, num_filters=4)
    return dataclasses.replace(base, device="cpu", **kw)


def _numbers(metrics):
    """The metrics without wall-clock time, which no two runs share."""
    return [{k: row[k] for k in FIELDS} for row in metrics]


def test_short_run_on_real_pictures_lowers_the_loss(shared_data, tmp_path):
    data = load_colorization(
        shared_data / "cifar-10-partial", palette=shared_data / "colour_kmeans24_cat7.npy"
    )
    result = train_model(_cfg(epochs=3, batch_size=50, num_filters=8), data, tmp_path)
    first, last = result.metrics[0], result.metrics[-1]
    assert last["train_loss"] < first["train_loss"] - 0.2
    assert last["val_loss"] < math.log(24)  # better than guessing 24 colours uniformly
    assert last["train_acc"] > first["train_acc"]


@pytest.mark.parametrize("model", ["PoolUpsampleNet", "ConvTransposeNet"])
def test_resume_after_interruption_equals_uninterrupted(tiny_data, tmp_path, stop_at, model):
    whole = train_model(_cfg(model=model), tiny_data, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train_model(_cfg(model=model), tiny_data, tmp_path / "cut", hooks=stop_at(2))
    kept = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert kept["epoch"] == 1  # epoch 2 died before its checkpoint
    resumed = train_model(_cfg(model=model), tiny_data, tmp_path / "cut", resume=True)
    assert _numbers(resumed.metrics) == _numbers(whole.metrics)
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_resume_can_extend_epochs_but_not_change_lr(tiny_data, tmp_path):
    train_model(_cfg(epochs=1), tiny_data, tmp_path)
    longer = train_model(_cfg(epochs=2), tiny_data, tmp_path, resume=True)
    assert [row["epoch"] for row in longer.metrics] == [1, 2]
    with pytest.raises(TrainError, match=r"lr=0.001.*0.01"):
        train_model(_cfg(epochs=3, lr=1e-2), tiny_data, tmp_path, resume=True)


def test_nan_stops_and_keeps_last_good_checkpoint(tiny_data, tmp_path, monkeypatch):
    real_build = loop.build_model
    calls = {"n": 0}

    def poisoned_build(cfg, num_colours):
        net = real_build(cfg, num_colours)
        forward = net.forward

        def nan_after_epoch_one(x):
            calls["n"] += 1  # epoch 1 = 3 train steps (10 images / 4) + 1 eval batch
            out = forward(x)
            return out * float("nan") if calls["n"] > 4 else out

        net.forward = nan_after_epoch_one
        return net

    monkeypatch.setattr(loop, "build_model", poisoned_build)
    with pytest.raises(TrainError, match=r"NaN in epoch 2 .*last good checkpoint \(epoch 1\)"):
        train_model(_cfg(), tiny_data, tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values())
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 2  # header + epoch 1


def test_infinite_lr_gives_nan_with_no_checkpoint(tiny_data, tmp_path):
    with pytest.raises(TrainError, match=r"NaN in epoch 1 .*no checkpoint"):
        train_model(_cfg(lr=float("inf")), tiny_data, tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_outputs_and_checkpoint_format(tiny_data, tmp_path):
    result = train_model(_cfg(epochs=2), tiny_data, tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["model"] == "ConvTransposeNet" and ckpt["config"]["lr"] == 1e-3
    assert ckpt["epoch"] == 2 and ckpt["palette"].shape == (8, 3)
    assert _numbers(ckpt["metrics"]) == _numbers(result.metrics)
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["params"] == result.params == sum(t.numel() for t in _params(ckpt))
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    header = "epoch,train_loss,train_acc,val_loss,val_acc,seconds,train_loss_pixel,val_loss_pixel"
    assert lines[0] == header and len(lines) == 3
    assert doc["config"]["world_size"] == 1 and doc["config"]["shuffle"] == "once"
    for name in ("curves.png", "samples.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def _params(ckpt):
    """Trainable tensors of a checkpoint: BN running stats and counters are buffers."""
    return [
        t
        for k, t in ckpt["model"].items()
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    ]


def test_bf16_autocast_runs_on_cpu(tiny_data, tmp_path):
    result = train_model(_cfg(epochs=1, bf16=True), tiny_data, tmp_path)
    assert math.isfinite(result.metrics[0]["val_loss"])


def test_kernel_the_net_refuses_is_a_user_error(tiny_data, tmp_path):
    with pytest.raises(TrainError, match="kernel must be a positive integer, got 0"):
        train_model(_cfg(kernel=0), tiny_data, tmp_path)


def test_compile_path_runs_on_cpu(tiny_data, tmp_path, monkeypatch):
    # Inductor's C++ build takes about a minute on 2 cores, too slow for the suite; dynamo's
    # eager backend still traces our train/eval steps (train<->eval switches, a short last
    # batch) through torch.compile. Inductor itself was checked by hand (see the README).
    monkeypatch.setattr(
        loop.fast, "compile_model", lambda m, mode: torch.compile(m, backend="eager")
    )
    compiled = train_model(_cfg(epochs=2, compile=True), tiny_data, tmp_path / "c")
    plain = train_model(_cfg(epochs=2), tiny_data, tmp_path / "p")
    for a, b in zip(compiled.metrics, plain.metrics):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=1e-3)


def test_matplotlib_is_imported_for_the_pictures_only_and_the_gil_interval_untouched(
    tiny_cifar_dir, tmp_path
):
    # a fresh process: importing train.loop imports no matplotlib; drawing the pictures does,
    # and the GIL switch interval stays Python's default
    code = """if True:
        import sys
        from train.data.cifar import load_colorization
        from train.config import TrainConfig
        from train.loop import Hooks, train_model

        assert "matplotlib" not in sys.modules
        data = load_colorization(sys.argv[1], palette=[[0, 0, 0], [1, 1, 1]])
        cfg = TrainConfig("ConvTransposeNet", epochs=2, batch_size=4, num_filters=4, device="cpu")
        train_model(cfg, data, sys.argv[2])
        assert "matplotlib" in sys.modules and sys.getswitchinterval() == 0.005
    """
    subprocess.run([sys.executable, "-c", code, str(tiny_cifar_dir), str(tmp_path)], check=True)
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "samples.png").is_file()
