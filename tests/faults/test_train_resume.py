"""--resume with a crafted or damaged checkpoint (issue 21): one line, exit 2, the whole file
checked before any of it is used, nothing in the run folder touched."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import pytest
import torch

from train.checkpoint import METRIC_FIELDS

_spec = importlib.util.spec_from_file_location(
    "train_env", Path(__file__).with_name("train_env.py")
)
_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_env)
env, trained_once = _env.env, _env.trained_once
_snapshot, _train, _trained, _one_line = _env._snapshot, _env._train, _env._trained, _env._one_line


def _set(path: list, value):
    """A change that puts value at ckpt[path[0]][path[1]]...; del when value is _DEL."""

    def change(ckpt):
        *parents, last = path
        for key in parents:
            ckpt = ckpt[key]
        if value is _DEL:
            del ckpt[last]
        else:
            ckpt[last] = value

    return change


_DEL = object()
WEIGHT = "layer1.0.weight"
DAMAGE = {
    "config-wrong-type": (
        _set(["config", "num_filters"], "4"),
        "config 'num_filters' is a str, not an int",
    ),
    "config-wrong-shape": (
        _set(["config", "lr"], torch.tensor([1e-3, 1e-3])),
        "config 'lr' is a Tensor, not a float",
    ),
    "config-not-a-dict": (_set(["config"], [1, 2]), "'config' is a list"),
    "no-config": (_set(["config"], _DEL), "no 'config'"),
    "no-epoch": (_set(["epoch"], _DEL), "no 'epoch'"),
    "epoch-a-string": (_set(["epoch"], "1"), "'epoch' is a str, not an int"),
    "epoch-beyond-metrics": (_set(["epoch"], 5), "'epoch' is 5 but 'metrics' holds 1 rows"),
    "no-metrics": (_set(["metrics"], _DEL), "no 'metrics'"),
    "metrics-a-string": (_set(["metrics"], "rows"), "'metrics' is a str, not a list of epoch rows"),
    "metrics-row-a-list": (_set(["metrics", 0], [1.0]), "metrics row 1 holds a list"),
    "metrics-missing-key": (_set(["metrics", 0, "seconds"], _DEL), "metrics row 1 holds ["),
    "metrics-extra-key": (_set(["metrics", 0, "extra"], 1.0), "'extra'"),
    "metrics-value-a-string": (
        _set(["metrics", 0, "val_loss"], "low"),
        "metrics row 1 is not epoch 1's numbers",
    ),
    "metrics-value-nan": (
        _set(["metrics", 0, "train_loss"], float("nan")),
        "metrics row 1 is not epoch 1's numbers",
    ),
    "metrics-wrong-epoch": (_set(["metrics", 0, "epoch"], 7), "metrics row 1 is not epoch 1's"),
    "optimizer-a-string": (_set(["optimizer"], "adam"), "'optimizer' is not Adam's state"),
    "optimizer-lr-a-string": (
        _set(["optimizer", "param_groups", 0, "lr"], "fast"),
        "lr, betas, eps, weight_decay",
    ),
    "optimizer-no-params": (
        _set(["optimizer", "param_groups", 0, "params"], _DEL),
        "is not a dict with its 'params'",
    ),
    "optimizer-state-a-list": (_set(["optimizer", "state"], [1]), "'state' is a list"),
    "optimizer-moment-a-string": (
        _set(["optimizer", "state", 0, "exp_avg"], "x"),
        "other than tensors",
    ),
    "optimizer-moment-missing": (
        _set(["optimizer", "state", 0, "exp_avg_sq"], _DEL),
        "not Adam's ['exp_avg', 'exp_avg_sq'",
    ),
    "optimizer-moment-shape": (
        _set(["optimizer", "state", 0, "exp_avg"], torch.zeros(7)),
        "optimizer moments of parameter 0 (7,) vs (4, 1, 3, 3)",
    ),
    "optimizer-unknown-parameter": (
        _set(
            ["optimizer", "state", 99],
            {"step": torch.tensor(1.0), "exp_avg": torch.zeros(1), "exp_avg_sq": torch.zeros(1)},
        ),
        "optimizer state for unknown parameter 99",
    ),
    "weight-a-string": (_set(["model", WEIGHT], "w"), f"weight '{WEIGHT}' is a str, not a tensor"),
    "weight-complex": (
        _set(["model", WEIGHT], torch.zeros(4, 1, 3, 3, dtype=torch.complex64)),
        f"{WEIGHT} (4, 1, 3, 3) torch.complex64 vs (4, 1, 3, 3) torch.float32",
    ),
    "palette-a-list": (_set(["palette"], [[0.0, 0.0, 0.0]]), "'palette' is a list, not a tensor"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_checkpoint_is_one_line_and_touches_nothing(env, damage):
    change, needle = DAMAGE[damage]
    folder = _trained(env)
    ckpt = torch.load(folder / "checkpoint.pt", weights_only=True)
    change(ckpt)
    torch.save(ckpt, folder / "checkpoint.pt")
    before = _snapshot(env["runs"])
    _one_line(_train(env, "--resume", "--epochs", "2"), 2, "--resume", needle)
    assert _snapshot(env["runs"]) == before


def test_extra_metrics_key_never_writes_a_checkpoint_the_next_resume_cannot_read(env):
    # it used to write epoch 2's checkpoint, then crash writing metrics.csv: every later resume
    # crashed too. Refused whole, twice, the checkpoint on disk still epoch 1's.
    folder = _trained(env)
    ckpt = torch.load(folder / "checkpoint.pt", weights_only=True)
    ckpt["metrics"][0]["extra"] = 1.0
    torch.save(ckpt, folder / "checkpoint.pt")
    before = _snapshot(env["runs"])
    for _ in range(2):
        _one_line(_train(env, "--resume", "--epochs", "2"), 2, "metrics row 1 holds")
        assert _snapshot(env["runs"]) == before
    del ckpt["metrics"][0]["extra"]
    torch.save(ckpt, folder / "checkpoint.pt")  # repaired: the resume goes on
    assert _train(env, "--resume", "--epochs", "2").exit_code == 0
    resumed = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert (
        resumed["epoch"] == 2 and [set(r) for r in resumed["metrics"]] == [set(METRIC_FIELDS)] * 2
    )


def test_top_level_not_a_dict(env):
    folder = _trained(env)
    torch.save([1, 2, 3], folder / "checkpoint.pt")
    _one_line(_train(env, "--resume"), 2, "it holds a list, not a dict")


@pytest.mark.parametrize("protocol", [4, 5])
def test_plain_pickle_checkpoint_prints_no_warning(env, protocol):
    # a real process: pytest records warnings, so in-process they could never show
    folder = _trained(env)
    ckpt = torch.load(folder / "checkpoint.pt", weights_only=True)
    (folder / "checkpoint.pt").write_bytes(pickle.dumps(ckpt["config"], protocol=protocol))
    before = _snapshot(env["runs"])
    args = ["--model", "ConvTransposeNet", "--data-dir", env["data"], "--palette", env["palette"]]
    done = _env.run_train([*args, "--run-dir", env["runs"], *_env.FAST, "--resume"])
    _env.one_line_of(2, done.returncode, done.stderr, "checkpoint.pt cannot be read")
    assert "Warning" not in done.stderr and "protocol" not in done.stderr
    assert _snapshot(env["runs"]) == before
