"""What the training fault cases share: a tiny CIFAR folder, a palette, runs of the CLI, and the
one-line check (loaded by path: tests are no package)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from train.cli import app

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("train_conftest", ROOT / "tests/train/conftest.py")
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
write_cifar = _conftest.write_cifar

FAST = ["--epochs", "1", "--num-filters", "4", "--batch-size", "5", "--device", "cpu"]
PALETTE8 = np.array([[r, g, b] for r in (0, 1) for g in (0, 1) for b in (0, 1)], dtype=float)


@pytest.fixture
def env(tmp_path, trained_once):
    """A tiny CIFAR folder, an 8-colour palette file, a run folder and the marker's path."""
    data = write_cifar(tmp_path / "cifar-10-batches-py")
    np.save(tmp_path / "palette.npy", PALETTE8)
    return {
        "trained": trained_once,
        "data": data,
        "palette": tmp_path / "palette.npy",
        "runs": tmp_path / "runs",
        "marker": tmp_path / "PWNED",
        "root": tmp_path,
    }


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory):
    """One 1-epoch run of each of two nets on the tiny data, made once for the module."""
    root = tmp_path_factory.mktemp("trained")
    env = {"data": write_cifar(root / "cifar-10-batches-py"), "palette": root / "palette.npy"}
    np.save(env["palette"], PALETTE8)
    env["runs"] = root / "runs"
    for model in ("ConvTransposeNet", "PoolUpsampleNet"):
        assert _train(env, model=model).exit_code == 0
    return root / "runs"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _train(env, *extra, model="ConvTransposeNet"):
    args = ["--model", model, "--data-dir", env["data"], "--palette", env["palette"]]
    args += ["--run-dir", env["runs"], *FAST, *extra]
    return CliRunner().invoke(app, [str(a) for a in args])


def _trained(env, model="ConvTransposeNet"):
    """env's run folder holding a 1-epoch checkpoint of model (copied from trained_once)."""
    env["runs"].mkdir(parents=True, exist_ok=True)
    shutil.copytree(env["trained"] / model, env["runs"] / model)
    return env["runs"] / model


def _one_line(result, code: int, *needles: str) -> str:
    """Exit code, a single stderr line containing the needles, no traceback anywhere."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("note:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def train_argv(args: list, limit: int | None = None, prelude: str = "") -> list[str]:
    """argv of `python -m train ARGS`, its address space capped at `limit` bytes when given,
    after the Python statements `prelude`."""
    code = f"import resource, runpy, sys; {prelude}\n"
    if limit:
        code += f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
    code += "sys.argv = ['train', *sys.argv[1:]]; runpy.run_module('train', run_name='__main__')"
    return [sys.executable, "-c", code, *map(str, args)]


SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}


def run_train(args: list, limit: int | None = None) -> subprocess.CompletedProcess:
    """`python -m train ARGS` in a fresh process (real stderr, real warnings, real signals)."""
    return subprocess.run(
        train_argv(args, limit), capture_output=True, text=True, env=SUBPROCESS_ENV,
        timeout=300, cwd=ROOT,
    )  # fmt: skip


def one_line_of(code: int, returncode: int, stderr: str, *needles: str) -> str:
    """A finished process: exit code, one stderr line (notes aside) with needles, no traceback."""
    assert returncode == code, (returncode, stderr[-3000:])
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
