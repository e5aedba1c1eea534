"""A run folder shared in time or in space (issue 21): a second run refused while the first
holds it, SIGTERM handled like Ctrl-C, what a kill -9 left half-written removed by the next run.
Real processes and real signals: each waits for a file with a deadline, never times anything."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import time
from pathlib import Path

import torch

from train.checkpoint import checkpoint_problem
from train.errors import TERMINATED_EXIT

_spec = importlib.util.spec_from_file_location(
    "train_env", Path(__file__).with_name("train_env.py")
)
_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_env)
env, trained_once = _env.env, _env.trained_once
_snapshot, _train, _one_line = _env._snapshot, _env._train, _env._one_line


def _args(env, *extra) -> list:
    args = ["--model", "ConvTransposeNet", "--data-dir", env["data"], "--palette", env["palette"]]
    return [*args, "--run-dir", env["runs"], *_env.FAST[2:], *extra]


def _start(env, *extra) -> subprocess.Popen:
    """A training process of (practically) endless epochs, its stderr captured."""
    argv = _env.train_argv(_args(env, "--epochs", "100000", *extra))
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=_env.SUBPROCESS_ENV, cwd=_env.ROOT,
    )  # fmt: skip


def _wait_for(proc: subprocess.Popen, ready, what: str, deadline: float = 180.0) -> None:
    """Poll until ready() holds; fail (killing proc) if proc dies or the deadline passes."""
    end = time.monotonic() + deadline
    while not ready():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"no {what}: {proc.communicate()[1][-3000:]}")
        time.sleep(0.1)


def test_second_run_in_a_locked_folder_is_refused_naming_the_first(env):
    lock = env["runs"] / ".train.lock"
    first = _start(env, "--save-every", "100000")  # writes nothing while it trains
    try:
        _wait_for(
            first, lambda: lock.is_file() and lock.read_text().strip() == str(first.pid), "lock"
        )
        before = _snapshot(env["runs"])
        result = _train(env, "--epochs", "1")
        _one_line(
            result, 2, f"{env['runs']} is in use by another training run (process {first.pid})"
        )
        assert _snapshot(env["runs"]) == before
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    _env.one_line_of(TERMINATED_EXIT, first.returncode, err, "terminated (SIGTERM)")
    assert not lock.exists()  # the holder removed it on the way out
    assert _train(env, "--epochs", "1").exit_code == 0  # the folder is free again


def test_sigterm_is_one_line_exit_143_and_keeps_the_last_checkpoint(env):
    ckpt = env["runs"] / "ConvTransposeNet" / "checkpoint.pt"
    proc = _start(env, "--save-every", "1")
    _wait_for(proc, ckpt.is_file, "checkpoint")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert TERMINATED_EXIT == 143
    _env.one_line_of(
        143, proc.returncode, err, "terminated (SIGTERM)", "checkpoint is kept", "--resume"
    )
    saved = torch.load(ckpt, weights_only=True)
    assert checkpoint_problem(saved) is None and saved["epoch"] >= 1
    assert not list(env["runs"].rglob("*.tmp")) and not (env["runs"] / ".train.lock").exists()
    more = saved["epoch"] + 1
    assert _train(env, "--resume", "--epochs", str(more)).exit_code == 0
    assert torch.load(ckpt, weights_only=True)["epoch"] == more


KILL_ON_CHECKPOINT = (
    "import os, signal; _replace = os.replace; "
    "os.replace = lambda a, b, **k: os.kill(os.getpid(), signal.SIGKILL) "
    "if str(b).endswith('checkpoint.pt') else _replace(a, b, **k)"
)


def test_next_run_removes_what_a_kill_9_mid_write_left_and_nothing_else(env):
    net = env["runs"] / "ConvTransposeNet"
    done = subprocess.run(
        _env.train_argv(_args(env, "--epochs", "1"), prelude=KILL_ON_CHECKPOINT),
        capture_output=True, text=True, env=_env.SUBPROCESS_ENV, cwd=_env.ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    (stale,) = net.glob(".checkpoint.pt.*.tmp")  # killed between the temp file and the rename
    decoys = [
        net / ".notes.txt.abcd1234.tmp",  # not one of our outputs
        net / ".checkpoint.pt.ABCD1234.tmp",  # not mkstemp's alphabet
        net / "checkpoint.pt.abcd1234.tmp",  # not hidden
        env["data"] / ".checkpoint.pt.abcd1234.tmp",  # not in the run folder
        env["root"] / ".comparison.json.abcd1234.tmp",  # above the run folder
    ]
    for decoy in decoys:
        decoy.write_bytes(b"someone else's")
    result = _train(env, "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert f"removed {stale}, left by a killed run" in " ".join(result.stderr.split())
    assert not stale.exists() and (net / "checkpoint.pt").is_file()
    assert all(d.read_bytes() == b"someone else's" for d in decoys)


def test_a_symlink_planted_as_the_lock_is_refused_and_its_target_untouched(env):
    (env["runs"] / "ConvTransposeNet").mkdir(parents=True)
    victim = env["root"] / "victim"
    victim.write_bytes(b"precious")
    (env["runs"] / ".train.lock").symlink_to(victim)
    _one_line(_train(env), 2, f"cannot lock {env['runs'] / '.train.lock'}")
    assert victim.read_bytes() == b"precious" and (env["runs"] / ".train.lock").is_symlink()
