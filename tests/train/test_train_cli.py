"""`python -m train` through typer's CliRunner: a tiny run, and each bad input -> one line, 2."""

import gc
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from train.cli import app
from train.errors import TrainError

runner = CliRunner()
FAST = ["--epochs", "1", "--num-filters", "4", "--batch-size", "5", "--device", "cpu"]


@pytest.fixture
def palette_file(tmp_path, tiny_palette):
    np.save(tmp_path / "palette8.npy", tiny_palette)
    return tmp_path / "palette8.npy"


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _error_line(result):
    """The single 'error:' line, which must also be the last line on stderr."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


def test_all_models_tiny_run(tiny_cifar_dir, palette_file, tmp_path):
    run_dir = tmp_path / "runs"
    args = ["--model", "all", "--data-dir", tiny_cifar_dir, "--palette", palette_file]
    result = _run(*args, "--run-dir", run_dir, *FAST)
    assert result.exit_code == 0, result.output
    assert "Comparison" in result.stdout and "ConvTransposeNet" in result.stdout
    assert "differ from the official CIFAR-10 release" in result.stderr
    rows = json.loads((run_dir / "comparison.json").read_text())
    assert [r["model"] for r in rows] == ["PoolUpsampleNet", "ConvTransposeNet", "UNet"]
    assert all(r["epochs"] == 1 and r["params"] > 0 for r in rows)
    for name in ("PoolUpsampleNet", "ConvTransposeNet", "UNet"):
        ckpt = torch.load(run_dir / name / "checkpoint.pt", weights_only=True)
        assert ckpt["config"]["num_filters"] == 4 and ckpt["palette"].shape == (8, 3)


def _corrupt(folder):
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": np.zeros((2, 7), np.uint8)}))


def _bad_palette(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((24, 4)))
    return tmp_path / "bad.npy"


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing data", "cifar-10-python.tar.gz"),
        ("malformed data", "data_batch_3: missing 'data' or 'labels'"),
        ("palette shape", r"expected shape (K, 3) with K >= 2, got (24, 4)"),
        ("run dir is a file", "is not writable"),
        ("zero kernel", "kernel must be a positive integer, got 0"),
        ("no epochs", "--epochs must be at least 1"),
        ("infinite lr", "loss became NaN in epoch 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, message, tiny_cifar_dir, palette_file, tmp_path):
    data, palette, run_dir, extra = tiny_cifar_dir, palette_file, tmp_path / "runs", []
    if case == "missing data":
        data = tmp_path / "nowhere"
    elif case == "malformed data":
        _corrupt(tiny_cifar_dir)
    elif case == "palette shape":
        palette = _bad_palette(tmp_path)
    elif case == "run dir is a file":
        (tmp_path / "afile").write_text("x")
        run_dir = tmp_path / "afile" / "runs"
    elif case == "zero kernel":
        extra = ["--kernel", "0"]
    elif case == "no epochs":
        extra = ["--epochs", "0"]
    elif case == "infinite lr":
        extra = ["--lr", "inf"]
    args = ["--data-dir", data, "--palette", palette, "--run-dir", run_dir, *FAST, *extra]
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert message in _error_line(result)
    assert "Traceback" not in result.output


def test_debug_shows_the_exception(tmp_path):
    result = _run("--data-dir", tmp_path, "--run-dir", tmp_path / "r", "--debug")
    assert isinstance(result.exception, TrainError)
    assert result.exit_code == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_gpu_is_a_user_error(tiny_cifar_dir, palette_file, tmp_path):
    args = ["--data-dir", tiny_cifar_dir, "--palette", palette_file, "--run-dir", tmp_path]
    result = _run(*args, *FAST[:-2], "--device", "cuda")
    assert result.exit_code == 2
    assert "no CUDA device" in _error_line(result)


def test_resume_through_the_cli(tiny_cifar_dir, palette_file, tmp_path):
    args = ["--model", "ConvTransposeNet", "--data-dir", tiny_cifar_dir, "--palette", palette_file]
    args += ["--run-dir", tmp_path, *FAST]
    assert _run(*args).exit_code == 0
    result = _run(*args[:-8], "--epochs", "2", *FAST[2:], "--resume")
    assert result.exit_code == 0, result.output
    assert "continuing ConvTransposeNet after epoch 1" in result.stderr
    rows = json.loads((tmp_path / "ConvTransposeNet" / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2]


@pytest.mark.parametrize("spelling", ["unet", "UNET", "UNet"])
def test_model_names_are_case_insensitive(spelling, tiny_cifar_dir, palette_file, tmp_path):
    args = ["--model", spelling, "--data-dir", tiny_cifar_dir, "--palette", palette_file]
    result = _run(*args, "--run-dir", tmp_path, *FAST)
    assert result.exit_code == 0, result.output
    ckpt = torch.load(tmp_path / "UNet" / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["model"] == "UNet"
    assert "layer5.weight" in ckpt["model"] and ckpt["model"]["layer5.weight"].shape[1] == 8 + 1


def test_sweep_takes_unet(tiny_cifar_dir, palette_file, tmp_path):
    args = ["sweep", "--model", "unet", "--data-dir", tiny_cifar_dir, "--palette", palette_file]
    args += ["--batch-sizes", "2,4", "--max-steps", "2", "--eval-every", "2", "--num-filters", "4"]
    result = _run(*args, "--out", tmp_path / "o", "--target-loss", "50", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "UNet"


def test_app_alone_leaves_the_collector_alone(tiny_cifar_dir, palette_file, tmp_path):
    # called as a library (CliRunner here), the command does not own the process
    gc.unfreeze()
    args = ["--model", "UNet", "--data-dir", tiny_cifar_dir, "--palette", palette_file]
    result = _run(*args, "--run-dir", tmp_path / "runs", *FAST)
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_imports_stay_light():
    # `--help` needs no torch; the loop needs no matplotlib (pictures import it when drawn)
    code = (
        "import sys, train.cli; assert 'torch' not in sys.modules; "
        "import train.loop; heavy = {'matplotlib', 'archcount.training'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
