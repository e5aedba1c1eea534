"""`count --time` and `calibrate` from the command line; the bench's smoke run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def run(*args, cache_dir):
    env = {"COLUMNS": "200", "XDG_CACHE_HOME": str(cache_dir)}
    return CliRunner().invoke(app, list(args), env=env)


def test_time_json_rows_sum_to_the_totals(cache):
    r = run("models.UNet", "--time", "--hardware", "h100-sxm", "--json", "--depth", "1",
            cache_dir=cache)  # fmt: skip
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    time = d["time"]
    keys = {"bytes_read", "bytes_written", "intensity", "bound", "predicted_s"}
    assert all(keys <= set(layer) for layer in d["layers"])
    assert all(isinstance(layer["ops"], list) for layer in d["layers"])  # the count's kept
    fwd = time["forward"]
    for key in ("bytes_read", "bytes_written", "macs"):
        assert sum(r[key] for r in time["rows"]) == fwd[key]
        assert sum(m[key] for m in time["modules"]) == fwd[key]
    assert sum(r["predicted_s"] for r in time["rows"]) == pytest.approx(fwd["predicted_s"])
    # the conv rows' MACs are the count's connections (batch 1: per example is whole batch)
    convs = [x for x in d["layers"] if x["type"] == "Conv2d"]
    by_label = {r["label"]: r for r in time["rows"]}
    assert all(by_label[c["name"]]["macs"] == c["connections"] for c in convs)
    assert "h100-sxm" in time["assumes"] and time["backward"] is None


def test_time_without_a_calibration_says_so(cache):
    r = run("models.PoolUpsampleNet", "--time", "--training", "--json", cache_dir=cache)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert "archcount calibrate" in d["time"]["assumes"]
    assert all(x["predicted_s"] is None and x["bytes_read"] > 0 for x in d["time"]["rows"][:3])
    assert d["time"]["backward"]["bytes_read"] > 0 and "backward" in d["layers"][0]


def test_time_table_names_its_assumption(cache):
    r = run("models.PoolUpsampleNet", "--time", cache_dir=cache)
    assert r.exit_code == 0, r.output
    assert "predicted time at batch 1" in r.stdout and "calibrate" in r.stdout


def test_calibrate_writes_the_cache_and_time_uses_it(cache):
    r = run("calibrate", "--seconds", "1", "--json", cache_dir=cache)
    assert r.exit_code == 0, r.output
    saved = json.loads(r.stdout)
    assert Path(saved["path"]) == cache / "archcount" / "calibration-cpu.json"
    r = run("models.PoolUpsampleNet", "--time", "--json", cache_dir=cache)
    d = json.loads(r.stdout)
    assert d["time"]["hardware"]["beta"] == saved["beta"]
    assert all(x["predicted_s"] > 0 for x in d["layers"] if x["outputs"])


def test_bench_quick_runs_on_one_tiny_net(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "bench/bench_roofline.py", "--quick", "--models", "PoolUpsampleNet",
         "--plot", str(tmp_path / "p.png")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "PoolUpsampleNet" in done.stdout and "whole forward: median APE" in done.stdout
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


RESIDUAL = """
from torch import nn


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x)
"""


def test_a_models_own_code_gets_its_time_by_hand(cache, tmp_path, monkeypatch):
    (tmp_path / "resid.py").write_text(RESIDUAL)
    monkeypatch.syspath_prepend(str(tmp_path))
    r = run("resid.Residual", "--input-shape", "4,8,8", "--time", "--hardware", "h100-sxm",
            "--json", cache_dir=cache)  # fmt: skip
    assert r.exit_code == 0, r.output
    layers = {x["name"]: x for x in json.loads(r.stdout)["layers"]}
    add = layers["resid.Residual (aten.add ×1)"]
    # x + y: two 4·8·8 fp32 inputs read, one written; memory-bound on an H100 sheet
    assert (add["bytes_read"], add["bytes_written"]) == (2 * 256 * 4, 256 * 4)
    assert add["predicted_s"] == pytest.approx(3 * 1024 / 3.35e12 + 5e-6)
    assert add["bound"] == "overhead" and add["intensity"] == pytest.approx(256 / 3072)
    conv = layers["conv"]  # reads x, the weight and the bias storages; writes y
    assert conv["bytes_read"] == (256 + 4 * 4 * 9 + 4) * 4 and conv["bytes_written"] == 1024
