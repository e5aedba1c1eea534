"""--output: checked before any work, written atomically, a full disk loses nothing."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

BUILDS = """
from pathlib import Path
from torch import nn


class Marked(nn.Module):
    def __init__(self):
        super().__init__()
        Path("BUILT").touch()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
"""


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("no/such/folder/report.md", "no folder"),
        ("report.txt", "use one of .md"),
        ("report", "use one of .md"),
        (".", "use one of .md"),
        ("adir.md", "is a folder"),
    ],
)
@pytest.mark.parametrize("command", ["count", "derive", "check"])
def test_bad_output_refused_before_any_work(ws, command, output, says):
    (ws.root / "adir.md").mkdir()
    target = f"{ws.module(BUILDS)}.Marked"
    extra = {"check": ["-e", "outputs=NF"], "derive": [], "count": ["--size", "8"]}[command]
    ws.run(command, target, *extra, "--output", output, says=says)
    assert not (ws.root / "BUILT").exists(), "the model was built before --output was checked"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_refused(ws, tiny):
    folder = ws.root / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        ws.run(tiny, "--size", "8", "--output", "ro/report.md", says="not writable")
    finally:
        folder.chmod(0o755)


def test_disk_full_while_writing_keeps_the_old_report(ws, tiny, monkeypatch):
    """ENOSPC at fsync (as a full disk gives it): the earlier report intact, no temp file."""

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    ws.run(tiny, "--size", "8", "--output", "keep.json", says="disk full writing --output")
    assert sorted(p.name for p in ws.root.iterdir() if p.name.startswith(".keep")) == []


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path, size: str = "48k"):
    """A tmpfs of `size` (root only; skips where mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_real_full_disk_keeps_the_old_report(ws, tiny):
    with small_tmpfs(ws.root) as disk:
        old = disk / "report.html"
        old.write_text("<p>the report of yesterday</p>\n")
        filler = disk / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as f:
            while True:  # fill the disk to the last block
                f.write(b"\0" * 4096)
                f.flush()
        before = old.read_bytes()
        r = ws.run(tiny, "--size", "8", "--output", str(old), says="disk full writing")
        assert "the earlier file is intact" in r.stderr
        assert old.read_bytes() == before
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "report.html"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_mode_follows_the_umask(ws, tiny, umask, mode):
    from typer.testing import CliRunner

    from archcount.cli.app import app

    old = os.umask(umask)
    try:
        r = CliRunner().invoke(app, [tiny, "--size", "8", "--output", "keep.json"])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert (ws.root / "keep.json").stat().st_mode & 0o777 == mode
    assert json.loads((ws.root / "keep.json").read_text())["totals"]["weights"] == 4 * 27 + 4


def test_non_finite_numbers_are_null_with_a_warning(capsys):
    from archcount.files import dumps

    text = dumps({"a": float("nan"), "b": [1.5, float("inf")], "c": {"d": -float("inf")}})
    assert json.loads(text) == {"a": None, "b": [1.5, None], "c": {"d": None}}
    assert "NaN" not in text and "Infinity" not in text
    assert capsys.readouterr().err.count("non-finite number") == 3


def test_non_finite_in_an_output_file(ws):
    from archcount.cli.output import write_output

    write_output(ws.root / "x.json", None, {"ratio": float("nan")})
    assert json.loads((ws.root / "x.json").read_text()) == {"ratio": None}


def test_a_reader_that_leaves_early_gets_no_traceback(ws, tiny, monkeypatch):
    """`archcount ... --json | head -c 1`: EPIPE on stdout is a quiet exit 1."""
    from typer.testing import CliRunner

    import archcount.files
    from archcount.cli.app import app

    def gone(data):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(archcount.files, "dumps", gone)
    r = CliRunner().invoke(app, [tiny, "--size", "8", "--json"])
    assert r.exit_code == 1 and r.stderr == "", (r.exit_code, r.stderr)


RAISES = """
from torch import nn


class Custom(BaseException):
    pass


class Raises(nn.Module):
    def __init__(self, where="forward", what="GeneratorExit"):
        super().__init__()
        self.what = {"GeneratorExit": GeneratorExit, "Custom": Custom}[what]
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        if where == "init":
            raise self.what("in the constructor")

    def forward(self, x):
        raise self.what("in forward")
"""


@pytest.mark.parametrize("what", ["GeneratorExit", "Custom"])
@pytest.mark.parametrize("where", ["init", "forward"])
@pytest.mark.parametrize("command", ["count", "derive"])
def test_base_exceptions_from_the_model_are_one_line(ws, command, where, what):
    """Not an Exception, yet raised by the user's code: one line naming it, exit 2."""
    target = f"{ws.module(RAISES)}.Raises"
    extra = ["--size", "8"] if command == "count" else ["--input-shape", "3,S,S"]
    args = [command, target, *extra, "--arg", f"where={where!r}", "--arg", f"what={what!r}"]
    ws.run(*args, says=f"{what}: in {'the constructor' if where == 'init' else 'forward'}")


def test_keyboard_interrupt_keeps_its_meaning_beside_them(ws):
    """Ctrl-C is still exit 130 and the interrupted line, not a described failure."""
    source = "from torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n"
    source += "        raise KeyboardInterrupt\n"
    ws.run(f"{ws.module(source)}.Net", code=130, says="interrupted")


NOISY = """
import os
import sys

from torch import nn


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        os.write(1, b"built: straight to fd 1\\n")
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        os.write(1, b"forward: straight to fd 1\\n")
        print("forward: print")
        sys.__stdout__.write("forward: sys.__stdout__, buffered\\n")
        return self.conv(x)
"""


EXACT = "108*S**2 - 144*S + 48"


@pytest.mark.parametrize(
    ("command", "extra", "expected"),
    [
        # Conv2d(3→4, k 3, padding 1) on 3×8×8: 4·27 + 4 weights, 4·8² outputs, 27 taps each
        ("count", ["--size", "8"], {"weights": 4 * 27 + 4, "connections": 4 * 8**2 * 27}),
        # per dimension 3S − 2 of the taps land on real input: 4·3·(3S − 2)² exact connections
        ("derive", ["--input-shape", "3,S,S", "--vars", "S"], {"connections_exact": EXACT}),
    ],
)
def test_json_survives_a_model_writing_to_fd_1(ws, command, extra, expected):
    """A real process: what the model writes to stdout by any route lands on stderr, so the
    whole of stdout is one JSON object."""
    r = ws.process(command, f"{ws.module(NOISY)}.Noisy", *extra, "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)  # the whole of stdout, nothing before or after
    got = data["totals"] if command == "count" else data["formulas"]
    assert {q: got[q] for q in expected} == expected
    for noise in ("built: straight to fd 1", "forward: straight to fd 1", "forward: print"):
        assert noise in r.stderr and noise not in r.stdout
    assert "sys.__stdout__, buffered" in r.stderr


WARNS = """
import warnings

from torch import nn


class Warns(nn.Module):
    def __init__(self, fail=True):
        super().__init__()
        warnings.warn("built with a caveat")
        self.fail = fail
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        warnings.warn("forward has a caveat too", FutureWarning)
        if self.fail:
            raise ValueError("no good")
        return self.conv(x)


class TakesADict(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, inputs: dict):
        return self.conv(inputs["image"])
"""


@pytest.mark.parametrize(
    ("target", "extra", "says"),
    [
        # torch warns "Initializing zero-element tensors is a no-op" while building NF = 0
        ("models.PoolUpsampleNet", ["--nf", "0"], "forward failed in layer layer1.0 (Conv2d)"),
        ("{m}.TakesADict", ["--size", "8"], "forward failed in the model's own code"),
        ("{m}.Warns", ["--size", "8"], "on input shape 1x3x8x8: no good"),
    ],
)
def test_warnings_of_a_failed_run_are_not_printed(ws, target, extra, says):
    """A real process, so Python prints warnings as it does for a user: one line is all."""
    ws.run(target.format(m=ws.module(WARNS)), *extra, says=says, fresh=True)


def test_warnings_of_a_run_that_works_are_still_shown(ws):
    r = ws.process(f"{ws.module(WARNS)}.Warns", "--size", "8", "--arg", "fail=False", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["weights"] == 4 * 27 + 4
    assert "UserWarning: built with a caveat" in r.stderr
    assert "FutureWarning: forward has a caveat too" in r.stderr


DEEP = """
from torch import nn


class Deep(nn.Module):
    def __init__(self, n=5000):
        super().__init__()
        layers = []
        for i in range(n):  # five wide pairs among 4,995 tiny layers: 5,005 rows
            layers += [nn.Linear(2, 64), nn.Linear(64, 2)] if i % 1000 == 7 else [nn.Linear(2, 2)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
"""


def test_plot_of_5000_layers_is_capped_and_says_so(ws):
    """Uncapped, 5,005 rows would make a (1.6 + 0.3·5,005)-inch, 150,310-pixel-tall PNG."""
    from matplotlib import image

    from archcount.render.plot import MAX_ROWS

    r = CliRunner().invoke(
        app,
        [f"{ws.module(DEEP)}.Deep", "--input-shape", "2", "--plot", "deep.png", "--depth", "all"],
    )
    assert r.exit_code == 0, r.output
    line = stderr_line(r)
    assert "the 59 largest of 5,005 rows drawn, the other 4,946 summed" in line
    height, width = image.imread(ws.root / "deep.png").shape[:2]
    assert (height, width) == (round(100 * (1.6 + 0.3 * MAX_ROWS)), 1300) == (1960, 1300)
    assert (ws.root / "keep.json").read_text() == '{"kept": true}\n'


def stderr_line(result) -> str:
    """The one line on stderr of a run that worked (no traceback anywhere)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    return lines[0]
