"""A run's folder: the checkpoint (a plain dict that carries its config), the checks that a
--resume continues the same run, and the metrics as CSV and JSON; all written atomically."""

from __future__ import annotations

import csv
import io
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from archcount.files import dumps, write_atomic
from train.config import TrainConfig
from train.errors import TrainError

CHECKPOINT = "checkpoint.pt"
METRIC_FIELDS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "seconds",
    "train_loss_pixel",
    "val_loss_pixel",
)


def prepare_run_dir(path: str | Path) -> Path:
    """Create the run directory and prove we can write there, else TrainError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise TrainError(f"run directory {path} is not writable ({exc.strerror or exc})") from exc
    return path


def check_writable(path: str | Path) -> Path:
    """TrainError unless path is (or could be made as) a folder we can write files in; creates
    nothing: the probe file goes in path or its nearest existing ancestor and is removed."""
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise TrainError(f"output folder {path} cannot be made: {probe} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".probe-"):
            pass
    except OSError as exc:
        raise TrainError(f"output folder {path} is not writable ({exc.strerror or exc})") from exc
    return path


def save_checkpoint(run_dir: Path, checkpoint: dict) -> Path:
    """Atomically write the checkpoint dict (tensors, numbers, strings only) to run_dir."""
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    write_atomic(run_dir / CHECKPOINT, buf.getvalue())
    return run_dir / CHECKPOINT


def load_checkpoint(run_dir: Path, device: torch.device) -> dict | None:
    """The run's checkpoint read with weights_only=True, or None when there is none."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        return None
    try:
        # A pickle of another protocol makes torch warn beside our one line; its verdict stands.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=device, weights_only=True)
    except TrainError:
        raise
    except Exception as exc:  # torch raises several types for a corrupt or foreign file
        raise TrainError(f"checkpoint {path} cannot be read ({type(exc).__name__})") from exc


def write_metrics(run_dir: Path, metrics: list[dict], extra: dict) -> None:
    """metrics.csv (one row per epoch) and metrics.json (extra + the same rows)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(metrics)
    write_atomic(run_dir / "metrics.csv", text.getvalue())
    doc = {**extra, "epochs": metrics}
    write_atomic(run_dir / "metrics.json", dumps(doc, "metrics.json"))


def make_checkpoint(cfg: TrainConfig, model, opt, metrics: list[dict], palette) -> dict:
    """Plain dict: config, epochs done, weights, Adam state, metrics, palette; checked as a
    resume checks it, so no run writes a checkpoint the next --resume cannot read."""
    ckpt = {
        "config": cfg.as_dict(),
        "epoch": len(metrics),
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "metrics": [dict(row) for row in metrics],
        "palette": torch.as_tensor(palette),
    }
    problem = checkpoint_problem(ckpt)
    assert problem is None, f"a checkpoint the next --resume would refuse: {problem}"
    return ckpt


def restore(run_dir: Path, cfg: TrainConfig, palette, model, opt, device, note) -> list[dict]:
    """Load run_dir's checkpoint into model and opt after checking it is this run's; returns
    the metrics so far ([] with no checkpoint). note(message) tells the user which."""
    ckpt = load_checkpoint(run_dir, device)
    if ckpt is None:
        note(f"--resume: no checkpoint in {run_dir}, starting from epoch 1")
        return []
    problem = checkpoint_problem(ckpt)  # the whole file is checked before any of it is used
    if problem is not None:
        raise TrainError(f"--resume: {run_dir / CHECKPOINT} is not a usable checkpoint: {problem}")
    check_resumable(ckpt, cfg.as_dict(), palette, run_dir)
    load_weights(ckpt, model, opt, run_dir)
    note(f"--resume: continuing {cfg.model} after epoch {ckpt['epoch']}")
    return ckpt["metrics"]


# A resumed run must agree on everything that shapes its numbers; epochs may grow, and the
# speed switches (device, channels_last, compile, save_every) may change.
RESUME_KEYS = ("model", "batch_size", "lr", "kernel", "num_filters", "seed", "category", "shuffle")


def check_resumable(ckpt: dict, config: dict, palette: np.ndarray, run_dir: Path) -> None:
    """TrainError naming every setting (and the palette) in which ckpt differs from config."""
    saved = ckpt["config"]
    differ = [
        f"{key}={saved.get(key)!r} (this run {config[key]!r})"
        for key in RESUME_KEYS
        if saved.get(key) != config[key]
    ]
    pal = ckpt["palette"]
    if tuple(pal.shape) != palette.shape:
        differ.append(f"palette of shape {tuple(pal.shape)} (this run {palette.shape})")
    elif not torch.equal(pal.cpu().double(), torch.as_tensor(palette)):
        differ.append("another palette")
    if differ:
        raise TrainError(
            f"--resume: checkpoint in {run_dir} differs: {'; '.join(differ)}; "
            "use the same settings or a new --run-dir"
        )


def state_differences(saved: dict, model: nn.Module) -> list[str]:
    """Parameter and buffer names missing, unexpected or of another shape, in saved vs model."""
    own = model.state_dict()
    out = [f"{k} missing" for k in own if k not in saved]
    out += [f"{k} unexpected" for k in saved if k not in own]
    out += [
        f"{k} {tuple(saved[k].shape)} {saved[k].dtype} vs {tuple(v.shape)} {v.dtype}"
        for k, v in own.items()
        if k in saved and (saved[k].shape != v.shape or saved[k].dtype != v.dtype)
    ]
    return out


def load_weights(ckpt: dict, model: nn.Module, opt: torch.optim.Optimizer, run_dir: Path):
    """Weights and Adam state into model and opt; a shape mismatch names the tensors."""
    differ = state_differences(ckpt["model"], model)
    differ += optimizer_differences(ckpt["optimizer"], opt)
    if differ:
        shown = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
        raise TrainError(f"--resume: checkpoint in {run_dir} holds another net: {shown}")
    try:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise TrainError(f"--resume: checkpoint in {run_dir} cannot be loaded ({exc})") from exc


CHECKPOINT_KEYS = ("config", "epoch", "model", "optimizer", "metrics", "palette")
ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}  # what Adam's step reads of each parameter
_DEFAULTS = TrainConfig().as_dict()  # a saved setting must have its default's type


def checkpoint_problem(ckpt) -> str | None:
    """What in ckpt is not as make_checkpoint writes it (the first thing found), else None."""
    if not isinstance(ckpt, dict):
        return f"it holds {_kind(ckpt)}, not a dict"
    missing = [key for key in CHECKPOINT_KEYS if key not in ckpt]
    if missing:
        return f"no {', '.join(map(repr, missing))}"
    config, model, palette = ckpt["config"], ckpt["model"], ckpt["palette"]
    if not isinstance(config, dict):
        return f"'config' is {_kind(config)}"
    wrong = [k for k in RESUME_KEYS if type(config.get(k)) is not type(_DEFAULTS[k])]
    if wrong:
        k = wrong[0]
        return f"config {k!r} is {_kind(config.get(k))}, not {_kind(_DEFAULTS[k])}"
    if not isinstance(model, dict) or not all(isinstance(k, str) for k in model):
        return f"'model' is {_kind(model)}, not a dict of named tensors"
    strays = [k for k, v in model.items() if not isinstance(v, torch.Tensor)]
    if strays:
        return f"weight {strays[0]!r} is {_kind(model[strays[0]])}, not a tensor"
    if not isinstance(palette, torch.Tensor):
        return f"'palette' is {_kind(palette)}, not a tensor"
    return _metrics_problem(ckpt["metrics"], ckpt["epoch"]) or _adam_problem(ckpt["optimizer"])


def _metrics_problem(metrics, epoch) -> str | None:
    """Rows 1..epoch, each with exactly METRIC_FIELDS, each a finite number."""
    if type(epoch) is not int:
        return f"'epoch' is {_kind(epoch)}, not an int"
    if not isinstance(metrics, list):
        return f"'metrics' is {_kind(metrics)}, not a list of epoch rows"
    if len(metrics) != epoch:
        return f"'epoch' is {epoch} but 'metrics' holds {len(metrics)} rows"
    for i, row in enumerate(metrics, 1):
        if not isinstance(row, dict) or set(row) != set(METRIC_FIELDS):
            keys = sorted(map(str, row)) if isinstance(row, dict) else _kind(row)
            return f"metrics row {i} holds {keys}, not {list(METRIC_FIELDS)}"
        if row["epoch"] != i or not all(_number(row[k]) for k in METRIC_FIELDS):
            return f"metrics row {i} is not epoch {i}'s numbers"
    return None


def _adam_problem(opt) -> str | None:
    """Adam's {state, param_groups}: numeric settings numbers, every state entry Adam's."""
    if not isinstance(opt, dict) or not isinstance(opt.get("param_groups"), list):
        return "'optimizer' is not Adam's state"
    state = opt.get("state")
    for group in opt["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            return "an optimizer parameter group is not a dict with its 'params'"
        betas = group.get("betas")
        numbers = [group.get(k) for k in ("lr", "eps", "weight_decay")]
        if not isinstance(betas, tuple | list) or not all(map(_number, [*numbers, *betas])):
            return "an optimizer setting (lr, betas, eps, weight_decay) is not a number"
    if not isinstance(state, dict):
        return f"the optimizer's 'state' is {_kind(state)}"
    for entry in state.values():
        if not isinstance(entry, dict) or set(entry) != ADAM_STATE:
            return f"an optimizer state entry is not Adam's {sorted(ADAM_STATE)}"
        if not all(isinstance(entry[k], torch.Tensor) for k in ADAM_STATE):
            return "an optimizer state entry holds something other than tensors"
    return None


def optimizer_differences(saved: dict, opt: torch.optim.Optimizer) -> list[str]:
    """Where a checked Adam state does not fit opt's parameters (group sizes, moment shapes)."""
    own = opt.param_groups
    sizes = [len(g["params"]) for g in saved["param_groups"]]
    if sizes != [len(g["params"]) for g in own]:
        return [f"optimizer groups of {sizes} parameters"]
    # load_state_dict pairs the saved ids with this run's parameters in order
    ids = [i for g in saved["param_groups"] for i in g["params"]]
    shapes = dict(zip(ids, (p.shape for g in own for p in g["params"])))
    out = [
        f"optimizer state for unknown parameter {pid!r}"
        for pid in saved["state"]
        if pid not in shapes
    ]
    out += [
        f"optimizer moments of parameter {pid} {tuple(entry[k].shape)} vs {tuple(shapes[pid])}"
        for pid, entry in saved["state"].items()
        for k in ("exp_avg", "exp_avg_sq")
        if pid in shapes and entry[k].shape != shapes[pid]
    ]
    return out


def _number(value) -> bool:
    """A finite int or float (not a bool): what a metric or an Adam setting must be."""
    return type(value) in (int, float) and math.isfinite(value)


def _kind(value) -> str:
    """A short description of a value that never prints its contents."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
