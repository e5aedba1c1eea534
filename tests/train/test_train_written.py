"""`python -m train` says what it wrote (issue 23, item 6): one stderr line per net folder and one
for comparison.json, each file with its format and size as it lies on disk."""

import re

import numpy as np
from typer.testing import CliRunner

from train.cli import app
from train.run_lock import NET_OUTPUTS

FAST = ["--epochs", "1", "--num-filters", "4", "--batch-size", "5", "--device", "cpu"]


def test_each_written_file_is_said_with_its_size(tiny_cifar_dir, tiny_palette, tmp_path):
    np.save(tmp_path / "palette8.npy", tiny_palette)
    runs = tmp_path / "runs"
    args = ["--model", "UNet", "--data-dir", tiny_cifar_dir, "--palette", tmp_path / "palette8.npy"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--run-dir", runs, *FAST]])
    assert result.exit_code == 0, result.output
    wrote = [line for line in result.stderr.splitlines() if line.startswith("wrote ")]
    assert "wrote " not in result.stdout
    assert len(wrote) == 2
    for line, folder in zip(wrote, (runs / "UNet", runs)):
        head, _, files = line.partition(": ")
        assert head == f"wrote {folder}/"
        said = dict(re.findall(r"([\w.]+) \(([^)]*)\)", files))
        on_disk = {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
        assert set(said) == on_disk
        for name, what in said.items():
            assert what.endswith(f"{(folder / name).stat().st_size:,} bytes")
    assert set(re.findall(r"([\w.]+) \(", wrote[0])) == set(NET_OUTPUTS)
    assert "comparison.json (JSON, " in wrote[1]


def test_a_run_folder_with_markup_is_said_as_it_is(tiny_cifar_dir, tiny_palette, tmp_path):
    np.save(tmp_path / "palette8.npy", tiny_palette)
    runs = tmp_path / "[bold]runs :llama:"
    args = ["--model", "UNet", "--data-dir", tiny_cifar_dir, "--palette", tmp_path / "palette8.npy"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--run-dir", runs, *FAST]])
    assert result.exit_code == 0, result.output
    assert f"wrote {runs}/: comparison.json (JSON, " in result.stderr
