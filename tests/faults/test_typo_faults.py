"""Typos (issue 23, item 7): a mistyped class, model type, option or --data-dir is one line that
says what was meant, and a near miss that is no typo (--filters is not --fit) suggests nothing."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest
from typer.testing import CliRunner

from train.cli import app as train_app

_spec = importlib.util.spec_from_file_location(
    "train_env", Path(__file__).with_name("train_env.py")
)
_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_env)
write_cifar, _one_line = _env.write_cifar, _env._one_line
SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()


CLASSES = [
    ("models.PoolUpsampleNt", "did you mean models.PoolUpsampleNet?"),
    ("models:PoolUpsampleNt", "did you mean models:PoolUpsampleNet?"),
    ("models.Unet", "did you mean models.UNet?"),  # models.unet, a module, is no TARGET
    ("models.unet.UNte", "did you mean models.unet.UNet?"),
]


@pytest.mark.parametrize(("target", "says"), CLASSES)
def test_a_mistyped_class_names_the_one_meant(ws, target, says):
    ws.run(target, says=says)


def test_a_mistyped_class_of_ones_own_module(ws):
    name = ws.module("class Tiny:\n    pass\n")
    ws.run(f"{name}.Tniy", says=f"did you mean {name}.Tiny?")
    result = ws.run(f"{name}.Other", says="has no attribute 'Other'")
    assert "did you mean" not in result.stderr


def test_a_mistyped_model_type_names_the_one_meant(ws):
    pytest.importorskip("transformers")
    ws.run("hf:gtp2", says="did you mean gpt2")


OPTIONS = [
    (["models.PoolUpsampleNet", "--nff", "16"], "No such option: --nff; did you mean --nf?"),
    (["models.PoolUpsampleNet", "--sise", "16"], "did you mean --size?"),
    (["derive", "models.PoolUpsampleNet", "--fixx", "S=8"], "did you mean --fix?"),
]


@pytest.mark.parametrize(("args", "says"), OPTIONS, ids=lambda v: str(v)[:40])
def test_a_mistyped_option_names_the_one_meant(ws, args, says):
    ws.run(*args, says=says)


def test_filters_is_not_a_typo_of_fit(ws):
    # difflib's own cut-off (what click offered) takes --fit for --filters: ours must not
    assert difflib.get_close_matches("--filters", ["--fit", "--nf"]) == ["--fit"]
    result = ws.run("models.PoolUpsampleNet", "--filters", "16", says="No such option: --filters")
    assert "--fit" not in result.stderr and "did you mean" not in result.stderr


def test_options_without_a_target_say_the_target_is_missing(ws):
    result = ws.run("--nf", "16", says="Missing argument 'target'")
    assert "count --help" in result.stderr  # the command the missing TARGET belongs to
    ws.run("--json", says="Missing argument 'target'")


def test_a_freeze_pattern_that_matches_nothing_is_refused_by_derive_too(ws):
    ws.run(
        "derive", "models.PoolUpsampleNet", "--training", "--freeze", "cnov.*",
        says="--freeze 'cnov.*' matches no parameter",
    )  # fmt: skip


def test_a_mistyped_train_option_names_the_one_meant():
    result = CliRunner().invoke(train_app, ["--epoch", "2"], env={"COLUMNS": "200"})
    _one_line(result, 2, "No such option: --epoch; did you mean --epochs?")


def _train(data_dir: Path, run_dir: Path):
    args = ["--model", "UNet", "--data-dir", data_dir, "--run-dir", run_dir, *_env.FAST]
    return CliRunner().invoke(train_app, [str(a) for a in args], env={"COLUMNS": "300"})


@pytest.mark.parametrize("below", ["data/cifar-10-partial", "mine/cifar-10-batches-py"])
def test_a_data_dir_too_high_names_the_folder_below(tmp_path, below):
    data = write_cifar(tmp_path / "root" / below)
    (tmp_path / "root" / "aaa" / "empty").mkdir(parents=True)  # searched first, holds nothing
    root = tmp_path / "root"
    before = _env._snapshot(tmp_path)
    line = _one_line(
        _train(root, tmp_path / "runs"), 2,
        f"no CIFAR-10 python batches in {root} (nor in its cifar-10-batches-py/)",
        f"; {below}/ below it has them: pass --data-dir {data}",
    )  # fmt: skip
    assert "cs.toronto.edu" not in line
    after = _env._snapshot(tmp_path)
    assert {n: b for n, b in after.items() if n in before} == before


def test_a_data_dir_with_nothing_below_says_how_to_get_the_data(tmp_path):
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    write_cifar(tmp_path / "a" / "b" / "c" / "cifar-10-batches-py")  # three levels: not searched
    line = _one_line(_train(tmp_path / "a", tmp_path / "runs"), 2, "download", "--data-dir")
    assert "has them" not in line


def test_the_shared_folder_one_level_too_high(tmp_path):
    meant = SHARED / "data" / "cifar-10-partial"
    if not (meant / "test_batch").is_file():
        pytest.skip("no shared CIFAR-10 data here")
    for given in (SHARED, SHARED / "data"):
        _one_line(_train(given, tmp_path / "runs"), 2, f"pass --data-dir {meant}")
