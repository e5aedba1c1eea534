"""The fault suite: bad input as an attacker or a careless user gives it.

Every case asserts the exit code, exactly one line on stderr, no traceback, no marker file
from a payload, and that the files that were there before are byte-identical afterwards.
Every test in this folder is marked `faults` (`pytest -m faults` runs them alone).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

HERE = Path(__file__).parent
REPO = HERE.parents[1]
_modules = itertools.count()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.faults)


@dataclass
class Workspace:
    """A folder the CLI runs in: user modules written there, files that must survive."""

    root: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def marker(self) -> Path:
        """The file a payload would create: its existence means code ran."""
        return self.root / "PWNED"

    def module(self, source: str) -> str:
        """Write `source` as a fresh importable module; its name."""
        name = f"faultmod{next(_modules)}"
        (self.root / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    def snapshot(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    def process(self, *args: str) -> Ran:
        """Run archcount in a fresh Python here (module-level `process`), asserting nothing."""
        return process(self.root, *args)

    def run(self, *args: str, code: int = 2, says: str | None = None, fresh: bool = False):
        """Run archcount in-process (or in a `fresh` Python); assert the one-line refusal (exit
        `code`) and no harm."""
        from archcount.cli.app import app

        before = self.snapshot()
        if fresh:
            result = process(self.root, *args)
        else:
            result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
        refused(result, code, says)
        assert not self.marker.exists(), "a payload ran"
        after = self.snapshot()
        changed = [n for n, b in before.items() if after.get(n) != b]
        assert not changed, f"files changed: {changed}"
        return result


@dataclass
class Ran:
    """A finished `archcount` process, read as CliRunner's results are."""

    exit_code: int
    stdout: str
    stderr: str
    exception: None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def process(root: Path, *args: str, timeout: float = 300) -> Ran:
    """Run archcount in a fresh Python in `root`: real file descriptors 1 and 2, Python's own
    warnings display, nothing of pytest's capture in between."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join([str(root), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-c", "from archcount.cli.app import main; main()", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return Ran(done.returncode, done.stdout, done.stderr)


def refused(result, code: int = 2, says: str | None = None) -> str:
    """Exit `code`, one line on stderr (containing `says`), no traceback anywhere."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    if says is not None:
        assert says in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    """A workspace as the current folder (importable), with a report that must survive."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "keep.json").write_text('{"kept": true}\n')
    return Workspace(tmp_path, monkeypatch)


TINY = """
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self, num_in_channels=3, num_filters=4):
        super().__init__()
        self.conv = nn.Conv2d(num_in_channels, num_filters, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
"""


@pytest.fixture
def tiny(ws) -> str:
    """A TARGET of a tiny conv net in the workspace."""
    return f"{ws.module(TINY)}.Tiny"
