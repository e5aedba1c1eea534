"""bench/gpu_check.sh --device cpu: the GPU check's smoke test runs the whole script."""

import json
import math
import subprocess
from pathlib import Path

import numpy as np

from bench.synthetic import write_synthetic
from train.data.cifar import load_colorization

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_smoke_on_cpu(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [str(ROOT / "bench" / "gpu_check.sh"), "--device", "cpu", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    sets = {r["set"] for r in rows}
    assert "generated" in sets and len(rows) == 3 * len(sets)
    assert {r["net"] for r in rows} == {"PoolUpsampleNet", "ConvTransposeNet", "UNet"}
    assert all(math.isfinite(r["val_loss"]) and r["images_per_s"] > 0 for r in rows)
    assert "PoolUpsampleNet + ConvTransposeNet, 1 epochs on 50 images" in done.stdout


def test_synthetic_set_reads_back_as_cifar(tmp_path, tiny_cifar_dir):
    folder = write_synthetic(tmp_path / "gen", 37, 9, category=7, source=tiny_cifar_dir)
    data = load_colorization(folder, palette=np.eye(3))
    assert len(data.train_x) == 37 and len(data.test_x) == 9
    plain = load_colorization(write_synthetic(tmp_path / "r", 12, 4), palette=np.eye(3))
    assert len(plain.train_x) == 12 and plain.train_x.std() > 0
