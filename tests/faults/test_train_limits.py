"""Faults in training's input and options (issue 21): each is one line and exit 2, at once.

Memory bombs run in a subprocess under a hard RLIMIT_AS, so a regression fails the test instead
of taking the machine down.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from train.cli import CPUS, app
from train.data.palette import MAX_COLOURS
from train.data.unpickle import MAX_BATCH_BYTES

_spec = importlib.util.spec_from_file_location(
    "train_env", Path(__file__).with_name("train_env.py")
)
_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_env)
env, trained_once, PALETTE8 = _env.env, _env.trained_once, _env.PALETTE8
_snapshot, _train, _one_line = _env._snapshot, _env._train, _env._one_line
ROOT = Path(__file__).resolve().parents[2]


def _laughs(levels: int, width: int) -> tuple[list, int]:
    """A list nested `levels` deep, each level `width` references to the one below; the number
    of integers it holds once expanded (width ** levels, by induction on the levels)."""
    inner: list = [0] * width
    for _ in range(levels - 1):
        inner = [inner] * width
    return inner, width**levels


def test_billion_laughs_batch_is_refused_at_once_under_a_memory_limit(env):
    labels, expanded = _laughs(40, 2)
    blob = pickle.dumps({"data": np.zeros((20, 3072), np.uint8), "labels": labels}, protocol=2)
    (env["data"] / "data_batch_1").write_bytes(blob)
    assert len(blob) < 64 * 1024 and expanded == 2**40  # 62 KB of pickle, 10^12 labels
    before = _snapshot(env["data"])
    args = ["--data-dir", env["data"], "--palette", env["palette"], "--run-dir", env["runs"]]
    done = _env.run_train(args, limit=3 * 2**30)  # a hard cap: a regression fails, not OOMs
    needle = "data_batch_1: 'labels' must be flat integers, item 0 is a list"
    _env.one_line_of(2, done.returncode, done.stderr, needle)
    assert _snapshot(env["data"]) == before


def test_batch_that_calls_the_array_constructor_is_refused(env):
    class Huge:  # pickles as numpy.ndarray((10**12,), uint8): a terabyte from a few bytes
        def __reduce__(self):
            return np.ndarray, ((10**12,), "u1")

    blob = pickle.dumps({"data": Huge(), "labels": [0]}, protocol=2)
    (env["data"] / "test_batch").write_bytes(blob)
    _one_line(_train(env), 2, "test_batch: not a CIFAR-10 python batch (UnpicklingError)")


def test_sparse_40_gb_batch_is_refused_before_reading(env):
    path = env["data"] / "data_batch_2"
    try:
        os.truncate(path, 40 * 10**9)  # sparse: 40 GB by its size, no blocks
    except OSError as exc:  # a file system without sparse files (or with a smaller file limit)
        pytest.skip(f"no sparse 40 GB file here ({exc.strerror})")
    assert path.stat().st_size > MAX_BATCH_BYTES
    _one_line(_train(env), 2, "data_batch_2: 40,000,000,000 bytes, larger than a CIFAR-10 batch")
    assert path.stat().st_size == 40 * 10**9


def _npy_header(path: Path, shape: tuple[int, ...]) -> None:
    """A .npy file whose header claims float64 `shape`, followed by a few bytes of data."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": shape}
        )
        fh.write(b"\0" * 48)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: _npy_header(p, (10**12, 3)), "1,000,000,000,000 colours, more than the 256"),
        (
            lambda p: np.save(
                p, np.random.default_rng(0).permutation(4096 * 3).reshape(-1, 3) / 12288
            ),
            "4,096 colours, more than the 256",
        ),
        (
            lambda p: np.save(p, PALETTE8.astype(complex)),
            "expected real numbers, got dtype complex128",
        ),
    ],
    ids=["header-1e12-rows", "4096-colours", "complex"],
)
def test_palette_limits(env, make, needle):
    make(env["palette"])
    before = _snapshot(env["root"])
    _one_line(_train(env), 2, f"palette {env['palette']}", needle)
    assert _snapshot(env["root"]) == before
    assert MAX_COLOURS == 256


def _convtranspose_params(k: int, nf: int, nc: int) -> int:
    """ConvTransposeNet's parameters by hand: convs 1->NF->2NF, transposed 2NF->NF->NC, conv
    NC->NC, all k x k with biases; a BatchNorm (2 per channel) after each of the first four."""
    weights = k * k * (nf + 2 * nf * nf + 2 * nf * nf + nf * nc + nc * nc)
    return weights + (nf + 2 * nf + nf + nc + nc) + 2 * (nf + 2 * nf + nf + nc)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--num-filters", "1000000"],
            f"--num-filters 1000000 would have {_convtranspose_params(3, 10**6, 8):,} parameters",
        ),
        (
            ["--kernel", "1000000"],
            f"--kernel 1000000 --num-filters 4 would have {_convtranspose_params(10**6, 4, 8):,}",
        ),
        (["--seed", "-1"], "--seed must be 0 to 2**32 - 1 (numpy's seed range), got -1"),
        (["--seed", str(2**70)], f"got {2**70}"),
        (["--seed", str(2**32)], f"got {2**32}"),
    ],
)
def test_option_limits(env, args, needle):
    _one_line(_train(env, *args), 2, needle)
    assert not (env["runs"] / "ConvTransposeNet" / "checkpoint.pt").exists()


def test_sweep_num_filters_zero(env):
    args = ["sweep", "--data-dir", env["data"], "--palette", env["palette"], "--num-filters", "0"]
    result = CliRunner().invoke(app, [*map(str, args), "--out", str(env["root"] / "o")])
    _one_line(result, 2, "--num-filters must be at least 1, got 0")


def test_threads_are_bounded_by_the_machine(env):
    _one_line(_train(env, "--threads", "100000"), 2, "'--threads'", f"less than or equal to {CPUS}")
    assert len(os.sched_getaffinity(0)) == CPUS
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "300"}).output
    assert f"1 to this machine's {CPUS} CPUs" in " ".join(help_text.split())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--lr", "abc"], "Invalid value for '--lr'"),
        (["--model", "Nope"], "Invalid value for '--model'"),
        (["sweep", "--max-steps", "x"], "Invalid value for '--max-steps'"),
        (["--no-such-option"], "No such option: --no-such-option"),
    ],
)
def test_usage_errors_are_one_line(args, needle):
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    line = _one_line(result, 2, needle, "--help)")
    assert line.startswith("error: ") and "╭" not in result.stderr


def test_kmeans_cache_does_not_write_through_a_planted_symlink(env, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(env["root"] / "xdg"))
    args = ["--model", "UNet", "--data-dir", env["data"], "--run-dir", env["runs"], *_env.FAST]
    assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0
    (cache,) = env["data"].glob("colour_kmeans24_*.npy")
    fitted = np.load(cache)
    cache.unlink()
    victim = env["root"] / "victim"
    victim.write_bytes(b"precious")
    for pid in {os.getpid(), *range(1, 200)}:  # the old writer's predictable `.NAME.PID.tmp`
        (env["data"] / f".{cache.name}.{pid}.tmp").symlink_to(victim)
    before = _snapshot(env["data"])
    assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0
    assert victim.read_bytes() == b"precious" and not cache.is_symlink()
    np.testing.assert_array_equal(np.load(cache), fitted)  # the same seed fits the same colours
    after = _snapshot(env["data"])
    assert [k for k, v in before.items() if after.get(k) != v] == []
