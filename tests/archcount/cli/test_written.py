"""What a command writes is said (issue 23, item 6): one stderr line per file, naming it, its format
and its size, stdout left to --json; each --help lists exactly the suffixes its command accepts;
`derive --size` holds the input sizes as `check --size` does."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

TINY = """
from torch import nn


class Tiny(nn.Module):
    def __init__(self, num_filters=4):
        super().__init__()
        self.conv = nn.Conv2d(3, num_filters, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
"""
# each command on the tiny net, quick: a count at 8x8, a derivation in num_filters alone;
# weights by hand: 3·3·3 taps and a bias per filter
COMMANDS = {
    "count": ["tinynet.Tiny", "--size", "8"],
    "derive": ["derive", "tinynet.Tiny", "--input-shape", "3,8,8"],
    "check": ["check", "tinynet.Tiny", "--input-shape", "3,8,8", "-e", "weights=28*num_filters"],
}
# suffixes tried beyond those a help text names: a command must refuse every one it does not name
TRIED = (".md", ".html", ".htm", ".svg", ".json", ".csv", ".png", ".txt", ".pdf", ".markdown")


@pytest.fixture
def here(tmp_path, monkeypatch):
    """The tiny net importable as tinynet.Tiny, run from tmp_path."""
    (tmp_path / "tinynet.py").write_text(TINY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})


def said(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": wrote " in line]


@pytest.mark.parametrize(
    ("name", "suffix", "fmt"), [("count", ".csv", "CSV"), ("check", ".md", "Markdown")]
)
def test_output_is_said_on_stderr_with_its_size_and_stdout_stays_json(here, name, suffix, fmt):
    out = here / f"report{suffix}"
    result = run(*COMMANDS[name], "--output", str(out), "--json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # stdout is the JSON alone
    assert said(result) == [f"--output: wrote {out} ({fmt}, {out.stat().st_size:,} bytes)"]


@pytest.mark.parametrize("name", ["count", "derive"])
def test_plot_is_said_on_stderr(here, name):
    out = here / "chart.svg"
    args = [*COMMANDS[name], "--plot", str(out), "--json"]
    if name == "derive":  # a curve needs a variable
        args = ["derive", "tinynet.Tiny", "--input-shape", "3,8,8", "--plot", str(out), "--json"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert out.read_text().startswith("<?xml") or "<svg" in out.read_text()
    assert said(result) == [f"--plot: wrote {out} (SVG, {out.stat().st_size:,} bytes)"]


def test_nothing_is_said_when_nothing_is_written(here):
    result = run(*COMMANDS["count"])
    assert result.exit_code == 0 and not said(result) and not result.stderr.strip()


def _help_suffixes(command: str, option: str) -> set[str]:
    """The suffixes the help row of `option` names (typer's rich help at 400 columns)."""
    text = run(command, "--help").stdout
    (row,) = [line for line in text.splitlines() if f"{option} " in line]
    return set(re.findall(r"\.[a-z]+\b", row.split(option, 1)[1]))


def _accepted(here, name: str, option: str) -> set[str]:
    """The suffixes `option` of the command writes: each tried, written (exit 0) or refused (2)."""
    ok = set()
    for suffix in TRIED:
        out = here / f"file{suffix}"
        result = run(*COMMANDS[name], option, str(out))
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 0:
            assert out.is_file(), suffix
            ok.add(suffix)
        else:
            assert not out.exists() and "use one of" in result.stderr, result.stderr
    return ok


@pytest.mark.parametrize(
    ("name", "option"),
    [("count", "--output"), ("derive", "--output"), ("check", "--output"), ("count", "--plot")],
)
def test_help_lists_exactly_the_suffixes_the_command_writes(here, name, option):
    offered = _help_suffixes(name, option)
    assert offered and offered <= set(TRIED)
    assert offered == _accepted(here, name, option)


def test_derive_and_check_refuse_csv_before_any_work(here):
    for name in ("derive", "check"):
        result = run(*COMMANDS[name], "--output", "rows.csv")
        assert result.exit_code == 2 and "use one of .md" in result.stderr
        assert ".csv" not in result.stderr.split("use one of", 1)[1]


def test_derive_size_gives_the_numbers_check_size_gives():
    size = ["--size", "64", "--json"]
    derived = json.loads(run("derive", "models.PoolUpsampleNet", *size).stdout)
    checked = run("check", "models.PoolUpsampleNet", *size, "-e", "weights=NF")
    checked = json.loads(checked.stdout)
    assert derived["fixed"] == checked["fixed"] == {"S": 64}
    assert derived["formulas"] == checked["formulas"]
    # by hand: a unit per output element; at S=32 PoolUpsampleNet has 2880NF + 3328NC of them,
    # and every layer's output has (S/32)^2 = 4 times the elements at S=64
    assert derived["formulas"]["outputs"] == "13312*NC + 11520*NF"
    counted = json.loads(run("models.PoolUpsampleNet", "--nf", "8", "--nc", "5", *size).stdout)
    assert counted["totals"]["outputs"] == 13312 * 5 + 11520 * 8


def test_derive_size_and_vars_naming_the_size_are_refused():
    result = run("derive", "models.PoolUpsampleNet", "--size", "64", "--vars", "S")
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == "error: --size holds S, which --vars derives in: give one of them"
    )


def test_a_file_name_with_markup_is_said_as_written(here):
    out = here / "[bold]report :llama:.md"
    result = run(*COMMANDS["count"], "--output", str(out))
    assert result.exit_code == 0, result.output
    assert said(result) == [f"--output: wrote {out} (Markdown, {out.stat().st_size:,} bytes)"]
