"""Batch-size sweep: regime arithmetic by hand, the step counter, and the CLI on tiny CIFAR."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from models import PoolUpsampleNet
from train.errors import TrainError
from train.experiments import sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _point(b, steps, loss=1.0):
    return sweep.SweepPoint(batch_size=b, lr=1e-3, steps=steps, best_val_loss=loss)


# ---------------------------------------------------------------- pure arithmetic


@pytest.mark.parametrize(
    ("text", "sizes"), [("8,16,32", (8, 16, 32)), ("32, 8 ,16", (8, 16, 32)), ("1,2,", (1, 2))]
)
def test_parse_batch_sizes(text, sizes):
    assert sweep.parse_batch_sizes(text) == sizes


@pytest.mark.parametrize("text", ["8,x", "8", "", "0,8", "-4,8", "8,8,16", "8.5,16"])
def test_parse_batch_sizes_rejects(text):
    with pytest.raises(TrainError, match="--batch-sizes"):
        sweep.parse_batch_sizes(text)


def test_segments_slopes_and_regimes_by_hand():
    # 800 -> 400 when B doubles: slope -1; 400 -> 300: log2(0.75) = -0.415; 300 -> 290: -0.049.
    pts = (_point(8, 800), _point(16, 400), _point(32, 300), _point(64, 290))
    segs = sweep.segments(pts)
    assert [s.slope for s in segs] == pytest.approx([-1.0, math.log2(0.75), math.log2(290 / 300)])
    assert [s.regime for s in segs] == [
        sweep.Regime.PERFECT,
        sweep.Regime.DIMINISHING,
        sweep.Regime.MAXIMAL,
    ]


def test_segments_skip_unreached_points():
    pts = (_point(8, 800), _point(16, None), _point(32, 200), _point(64, 100))
    segs = sweep.segments(pts)
    assert [(s.b_lo, s.b_hi) for s in segs] == [(32, 64)]


@pytest.mark.parametrize(
    ("slope", "regime"),
    [
        (-1.3, "PERFECT"),
        (-0.7, "PERFECT"),
        (-0.5, "DIMINISHING"),
        (-0.2, "MAXIMAL"),
        (0.4, "MAXIMAL"),
    ],
)
def test_classify_thresholds(slope, regime):
    assert sweep.classify(slope) is sweep.Regime[regime]


@pytest.mark.parametrize(
    ("scaling", "expected"), [("constant", 1e-3), ("sqrt", 2e-3), ("linear", 4e-3)]
)
def test_scaled_lr(scaling, expected):
    assert sweep.scaled_lr(1e-3, 32, 8, sweep.LrScaling(scaling)) == pytest.approx(expected)


def test_plot_writes_png_with_all_regimes_and_a_miss(tmp_path):
    pts = (_point(8, 800), _point(16, 400), _point(32, 300), _point(64, 290), _point(128, None))
    result = sweep.SweepResult("net", 1.9, 1000, 5, pts, sweep.segments(pts))
    path = sweep.plot(result, tmp_path / "deep" / "p.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


# ---------------------------------------------------------------- training pieces


class ZeroLogits(nn.Module):
    """Logits all zero: cross-entropy is exactly ln C whatever the labels."""

    def forward(self, x):
        return torch.zeros(len(x), 8, *x.shape[2:])


def _tiny_data(n=12, colours=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 32, 32, generator=g)
    y = torch.randint(0, colours, (n, 32, 32), generator=g)
    return SimpleNamespace(train_x=x, train_y=y, test_x=x[:4], test_y=y[:4])


def test_val_loss_of_zero_logits_is_log_c():
    data = _tiny_data()
    assert sweep.val_loss(ZeroLogits(), data.test_x, data.test_y, chunk=3) == pytest.approx(
        math.log(8), rel=1e-6
    )


def _net():
    torch.manual_seed(0)
    return PoolUpsampleNet(num_filters=4, num_colours=8)


def test_generous_target_is_reached_at_first_evaluation():
    point = sweep.steps_to_target(_net(), _tiny_data(), 4, 1e-3, 100.0, 50, 3, 0)
    assert point.steps == 3


def test_unreachable_target_is_reported_not_faked():
    point = sweep.steps_to_target(_net(), _tiny_data(), 4, 1e-3, 1e-6, 7, 3, 0)
    assert point.steps is None
    assert math.isfinite(point.best_val_loss) and point.best_val_loss > 1e-6


def test_batch_larger_than_training_set_is_a_user_error():
    with pytest.raises(TrainError, match="exceeds the 12 training images"):
        sweep.run_sweep(_net, _tiny_data(), (4, 16), 2.0, 5)


# ---------------------------------------------------------------- the CLI on tiny CIFAR


@pytest.fixture
def palette_file(tmp_path, tiny_palette):
    path = tmp_path / "palette.npy"
    np.save(path, tiny_palette)
    return path


def _sweep_args(data_dir, palette, out, target, *extra):
    return [
        "sweep",
        "--data-dir", str(data_dir),
        "--palette", str(palette),
        "--batch-sizes", "2,4,8",
        "--num-filters", "4",
        "--max-steps", "3",
        "--eval-every", "3",
        "--target-loss", str(target),
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def test_sweep_cli_reaches_generous_target_and_writes_plot(
    cli, tiny_cifar_dir, palette_file, tmp_path
):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, _sweep_args(tiny_cifar_dir, palette_file, out, 50.0, "--json"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p["batch_size"] for p in report["points"]] == [2, 4, 8]
    assert [p["steps"] for p in report["points"]] == [3, 3, 3]  # first evaluation, every size
    # Equal steps at every B: slope 0, the flat regime.
    assert [s["regime"] for s in report["segments"]] == ["maximal data parallelism"] * 2
    assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC
    assert json.loads((out / "sweep.json").read_text())["points"] == report["points"]


def test_sweep_cli_reports_misses_with_a_cross(cli, tiny_cifar_dir, palette_file, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, _sweep_args(tiny_cifar_dir, palette_file, out, 1e-6))
    assert result.exit_code == 0, result.output
    assert "not reached in 3" in result.stdout and "✗" in result.stdout
    assert "B=8: not reached" in result.stderr  # progress, one line per batch size
    assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--batch-sizes", "2,x"), "--batch-sizes"),
        (("--batch-sizes", "[red]4,8"), "'[red]4,8'"),  # shown literally, not as rich markup
        (("--batch-sizes", "4,64"), "exceeds the 10 training images"),
        (("--target-loss", "0"), "--target-loss"),
        (("--max-steps", "0"), "--max-steps"),
    ],
)
def test_sweep_cli_user_errors_are_one_red_line(
    cli, tiny_cifar_dir, palette_file, tmp_path, change, message
):
    args = _sweep_args(tiny_cifar_dir, palette_file, tmp_path / "o", 50.0) + list(change)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_sweep_cli_missing_data_dir(cli, tmp_path, palette_file):
    result = CliRunner().invoke(
        cli, _sweep_args(tmp_path / "nope", palette_file, tmp_path / "o", 2.0)
    )
    assert result.exit_code == 2
    assert "no CIFAR-10 python batches" in result.stderr


def test_plot_with_nothing_reached(tmp_path):
    pts = (_point(8, None), _point(16, None))
    result = sweep.SweepResult("net", 0.1, 50, 5, pts, sweep.segments(pts))
    assert sweep.plot(result, tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC


def test_commands_are_registered_on_the_training_cli():
    from train.cli import app

    result = CliRunner().invoke(app, ["sweep", "--batch-sizes", "x"])
    assert result.exit_code == 2 and "--batch-sizes" in result.stderr
