"""--time and calibrate refusals: one line, exit 2, nothing written."""

from __future__ import annotations

import pytest


@pytest.fixture
def cache(ws, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(ws.root / "cache"))
    return ws.root / "cache" / "archcount"


@pytest.mark.parametrize("name", ["tpu-v9", "[red]x[/]", "../../etc/passwd"])
def test_unknown_hardware(ws, tiny, cache, name):
    ws.run(tiny, "--time", "--hardware", name, says="--hardware")


@pytest.mark.parametrize(
    "content",
    [b"\x80\x04K\x01.", b"not json", b'{"format": 1, "pi": {}}'],
)
def test_bad_calibration_file(ws, tiny, cache, content):
    cache.mkdir(parents=True)
    (cache / "calibration-cpu.json").write_bytes(content)
    ws.run(tiny, "--time", says="calibration")


def test_calibrate_bad_device(ws, cache):
    ws.run("calibrate", "--device", "tpu", says="--device")


def test_calibrate_cuda_without_one(ws, cache):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    ws.run("calibrate", "--device", "cuda", "--seconds", "1", says="no CUDA device")
