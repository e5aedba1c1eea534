"""The CUDA fast path's logic, run on the CPU: flags, fused Adam, static shapes, save-every."""

import dataclasses
import json

import pytest
import torch

from train import fast, loop
from train.config import TrainConfig
from train.loop import train_model


def _cfg(**kw):
    base = TrainConfig(model="ConvTransposeNet", epochs=3, batch_size=4, num_filters=4)
    return dataclasses.replace(base, device="cpu", **kw)


def test_cuda_speed_settings():
    cuda = fast.resolve_speed(None, True, cuda=True)
    assert cuda.channels_last and cuda.fused_adam and cuda.cudnn_benchmark and cuda.tf32
    assert cuda.compile_mode == "reduce-overhead" and cuda.cuda_graphs and cuda.static_shapes
    cpu = fast.resolve_speed(False, False, cuda=False)
    assert not (cpu.channels_last or cpu.fused_adam or cpu.tf32 or cpu.static_shapes)
    assert cpu.compile_mode is None


def test_cuda_branch_runs_on_cpu(tiny_data, tmp_path, monkeypatch):
    seen, flags, marks = [], [], []

    def fake_compile(model, mode):
        assert mode == "reduce-overhead"

        def graph(x):  # stands in for the CUDA graph: records what shapes it is asked for
            seen.append((tuple(x.shape), model.training))
            flags.append((torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32))
            return model(x)

        return graph

    real_speed = fast.resolve_speed
    monkeypatch.setattr(loop.fast, "resolve_speed", lambda cl, c, cuda: real_speed(cl, c, True))
    monkeypatch.setattr(loop.fast, "compile_model", fake_compile)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append(1))
    before = torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32
    fast_run = train_model(_cfg(compile=True), tiny_data, tmp_path / "fast")
    plain = train_model(_cfg(), tiny_data, tmp_path / "plain")
    # 10 images at batch 4: steps of 4, 4 and 2; the graph sees only the full ones, and the
    # 2 validation images padded to 4 in eval mode: 3 calls an epoch, one shape each mode.
    assert set(seen) == {((4, 1, 32, 32), True), ((4, 1, 32, 32), False)}
    assert len(seen) == 3 * 3 and len(marks) == 3 * 3  # every training step marks the graph
    assert set(flags) == {(True, True)}
    assert (torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32) == before
    speed = json.loads((tmp_path / "fast" / "metrics.json").read_text())["speed"]
    assert speed["fused_adam"] and speed["static_shapes"]
    for a, b in zip(fast_run.metrics, plain.metrics, strict=True):
        for key in ("train_loss", "val_loss", "val_loss_pixel"):
            assert a[key] == pytest.approx(b[key], abs=1e-4)


def test_save_every_and_resume(tiny_data, tmp_path, monkeypatch, stop_at):
    saved = []
    real_save = loop.save_checkpoint
    monkeypatch.setattr(
        loop, "save_checkpoint", lambda d, ckpt: saved.append(ckpt["epoch"]) or real_save(d, ckpt)
    )
    whole = train_model(_cfg(epochs=5, save_every=2), tiny_data, tmp_path / "whole")
    assert saved == [2, 4, 5]  # every 2 epochs and after the last
    with pytest.raises(KeyboardInterrupt):
        train_model(_cfg(epochs=5, save_every=2), tiny_data, tmp_path / "cut", hooks=stop_at(4))
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    resumed = train_model(_cfg(epochs=5, save_every=2), tiny_data, tmp_path / "cut", resume=True)
    keys = ("train_loss", "val_loss", "val_acc")
    assert [[r[k] for k in keys] for r in resumed.metrics] == [
        [r[k] for k in keys] for r in whole.metrics
    ]
