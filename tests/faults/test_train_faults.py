"""Faults in training: payloads refused, mistakes one line (exit 2), nothing already written lost.

Each case asserts the exit code, one stderr line and no traceback, that no payload created its
marker file, and that files present before the command are byte-identical after it.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import pickle
import resource
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from archcount import files
from train.cli import app

_spec = importlib.util.spec_from_file_location(
    "train_env", Path(__file__).with_name("train_env.py")
)
_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_env)
env, trained_once, FAST, PALETTE8 = _env.env, _env.trained_once, _env.FAST, _env.PALETTE8
_snapshot, _train, _trained, _one_line = _env._snapshot, _env._train, _env._trained, _env._one_line


class _Payload:
    """Pickles as a call of fn(*args): what a malicious batch or checkpoint would hold."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _poison(env, name: str, payload) -> None:
    """Replace batch `name` by a dict whose labels value is the payload."""
    n = 20
    batch = {"labels": payload, "data": np.zeros((n, 3072), np.uint8)}
    (env["data"] / name).write_bytes(pickle.dumps(batch, protocol=2))


PAYLOADS = {
    "os.system": lambda m: _Payload(os.system, f"touch {m}"),
    "builtins.exec": lambda m: _Payload(exec, f"open({str(m)!r}, 'w').write('x')"),
    "builtins.eval": lambda m: _Payload(eval, f"__import__('pathlib').Path({str(m)!r}).touch()"),
    "subprocess.call": lambda m: _Payload(subprocess.call, ["touch", str(m)]),
    "shutil.copy": lambda m: _Payload(shutil.copy, "/etc/hostname", str(m)),
    "pathlib.Path": lambda m: _Payload(Path, str(m)),
}


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
@pytest.mark.parametrize("name", ["data_batch_1", "test_batch"])
def test_batch_payload_is_refused(env, kind, name):
    _poison(env, name, PAYLOADS[kind](env["marker"]))
    before = _snapshot(env["data"])
    line = _one_line(_train(env), 2, f"refusing to load {env['data'] / name}: it asks to import")
    assert line.rstrip().endswith("." + kind.split(".")[-1])  # os.system pickles as posix.system
    assert not env["marker"].exists()
    assert _snapshot(env["data"]) == before
    assert not (env["runs"] / "ConvTransposeNet" / "checkpoint.pt").exists()


def test_stealthy_payload_that_returns_the_real_batch_is_refused(env):
    # __reduce__ runs exec (making the marker) and evaluates to the genuine dict afterwards.
    real = pickle.loads((env["data"] / "data_batch_2").read_bytes(), encoding="latin1")
    stealth = _Payload(eval, f"(open({str(env['marker'])!r}, 'w').close(), {{}})[1]")
    (env["data"] / "data_batch_2").write_bytes(pickle.dumps({**real, b"x": stealth}))
    _one_line(_train(env), 2, "refusing to load", "builtins.eval")
    assert not env["marker"].exists()


@pytest.mark.parametrize("label", [10, -1, 255])
def test_labels_outside_0_9(env, label):
    raw = pickle.loads((env["data"] / "data_batch_3").read_bytes(), encoding="latin1")
    raw[b"labels"][4] = label
    (env["data"] / "data_batch_3").write_bytes(pickle.dumps(raw, protocol=2))
    _one_line(_train(env), 2, "data_batch_3", "labels must be 0-9", str(label))


def test_palette_with_repeated_colours(env):
    pal = PALETTE8.copy()
    pal[5] = pal[2]
    np.save(env["palette"], pal)
    _one_line(_train(env), 2, "colours 2 and 5 are the same")


def test_palette_that_is_a_pickle(env):
    np.save(env["palette"], np.array([_Payload(os.system, f"touch {env['marker']}")]), True)
    _one_line(_train(env), 2, "not a plain .npy array")
    assert not env["marker"].exists()


def test_malicious_checkpoint_is_refused(env):
    folder = env["runs"] / "ConvTransposeNet"
    folder.mkdir(parents=True)
    torch.save({"config": _Payload(os.system, f"touch {env['marker']}")}, folder / "checkpoint.pt")
    before = _snapshot(env["runs"])
    _one_line(_train(env, "--resume"), 2, "checkpoint.pt cannot be read")
    assert not env["marker"].exists()
    assert _snapshot(env["runs"]) == before


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (["--num-filters", "8"], "num_filters=4 (this run 8)"),
        (["--lr", "0.01"], "lr=0.001 (this run 0.01)"),
        (["--shuffle", "epoch"], "shuffle='once' (this run 'epoch')"),
        (["--seed", "3"], "seed=0 (this run 3)"),
    ],
)
def test_resume_names_what_differs(env, change, needle):
    _trained(env)
    before = _snapshot(env["runs"])
    result = _train(env, "--resume", *change)
    _one_line(result, 2, "--resume", needle)
    assert _snapshot(env["runs"]) == before


def test_resume_with_another_models_checkpoint(env):
    target = env["runs"] / "ConvTransposeNet"
    target.mkdir(parents=True)
    shutil.copy(env["trained"] / "PoolUpsampleNet" / "checkpoint.pt", target / "checkpoint.pt")
    before = _snapshot(env["runs"])
    _one_line(_train(env, "--resume"), 2, "model='PoolUpsampleNet' (this run 'ConvTransposeNet')")
    assert _snapshot(env["runs"]) == before


def test_resume_with_weights_of_another_shape(env):
    folder = _trained(env)
    ckpt = torch.load(folder / "checkpoint.pt", weights_only=True)
    ckpt["model"]["layer1.0.weight"] = torch.zeros(5, 1, 3, 3)
    torch.save(ckpt, folder / "checkpoint.pt")
    before = _snapshot(env["runs"])
    _one_line(_train(env, "--resume"), 2, "holds another net: layer1.0.weight (5, 1, 3, 3)")
    assert _snapshot(env["runs"]) == before


def test_resume_with_another_palette(env):
    _trained(env)
    np.save(env["palette"], PALETTE8[::-1].copy())
    before = _snapshot(env["runs"])
    _one_line(_train(env, "--resume"), 2, "another palette")
    assert _snapshot(env["runs"]) == before


def test_unwritable_run_dir_fails_before_training(env):
    (env["root"] / "afile").write_text("x")
    env["runs"] = env["root"] / "afile" / "runs"
    _one_line(_train(env), 2, "is not writable")
    assert (env["root"] / "afile").read_text() == "x"


def test_sweep_unwritable_out_fails_before_training(env, monkeypatch):
    from train.experiments import sweep

    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: pytest.fail("trained anyway"))
    (env["root"] / "afile").write_text("x")
    args = ["sweep", "--data-dir", env["data"], "--palette", env["palette"], "--out"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, env["root"] / "afile" / "o"]])
    _one_line(result, 2, "afile is not a folder")


def test_sweep_json_is_strict_with_a_warning(env, monkeypatch):
    from train.experiments import sweep

    point = sweep.SweepPoint(4, 1e-3, None, float("nan"))
    fake = sweep.SweepResult("PoolUpsampleNet", 1.0, 3, 1, (point, point), ())
    monkeypatch.setattr("train.experiments.cli.run_sweep", lambda *a, **k: fake)
    args = ["sweep", "--data-dir", env["data"], "--palette", env["palette"]]
    args += ["--batch-sizes", "2,4", "--out", env["root"] / "o"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "2 non-finite value(s) written as null" in result.stderr
    text = (env["root"] / "o" / "sweep.json").read_text()
    assert "NaN" not in text and '"best_val_loss": null' in text


def test_interrupt_is_exit_130_one_line(env, monkeypatch):
    from train import loop

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "train_epoch", interrupted)
    _one_line(_train(env), 130, "--resume")


def test_debug_gives_the_traceback(env):
    _poison(env, "data_batch_1", PAYLOADS["os.system"](env["marker"]))
    result = _train(env, "--debug")
    assert result.exit_code == 1 and "refusing to load" in str(result.exception)
    assert not env["marker"].exists()


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        files.write_atomic(tmp_path / "f.json", b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == mode


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    (tmp_path / "m.json").write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(files.WriteError, match=r"disk full writing .*m\.json"):
        files.write_atomic(tmp_path / "m.json", b"new")
    assert (tmp_path / "m.json").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary left behind


def test_file_size_limit_is_one_line_and_keeps_the_checkpoint(env):
    """EFBIG: a file-size limit below the checkpoint's size (RLIMIT_FSIZE; no root needed).
    Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process."""
    folder = _trained(env)
    before = _snapshot(env["runs"])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        result = _train(env, "--resume", "--epochs", "2")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    _one_line(result, 2, "disk full writing", "checkpoint.pt", "last good checkpoint: epoch 1")
    assert _snapshot(env["runs"]) == before
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["epoch"] == 1


def _tmpfs(path: Path, size: str) -> bool:
    """Mount a tmpfs of `size` at path (root only); False when that is not possible."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def test_disk_full_on_resume_keeps_the_last_good_checkpoint(env):
    disk = env["root"] / "disk"
    if not _tmpfs(disk, "2m"):
        pytest.skip("needs root and a mountable tmpfs")
    try:
        env["runs"] = disk / "runs"
        _trained(env)
        before = _snapshot(env["runs"])
        with open(disk / "filler", "wb") as fh:  # take every remaining block
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        _one_line(
            _train(env, "--resume", "--epochs", "2"),
            2,
            "disk full writing",
            "last good checkpoint: epoch 1",
        )
        assert _snapshot(env["runs"]) == before
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
