"""The pytest plugin on a throwaway project: right numbers pass, wrong ones fail naming layers."""

import importlib.metadata
from pathlib import Path

import pytest

import archcount.testing

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[2]

# A user's 1-D net beside its declared formulas (hand-derived, k = 3, padding 1, C x L in):
# conv C->W (3CW + W weights), ReLU, 1x1 head W->2 (2W + 2): weights W(3C + 3) + 2;
# outputs under `units` L(W + 2); connections L·W·3C + L·2W (`modules`: the ReLU's L·W more).
MYNET = """
from torch import nn
from archcount import Formula, Symbols


class Net(nn.Module):
    formula_symbols = Symbols(params={"C": "channels", "W": "width"}, input=("C", "L"),
                              defaults={"L": 16})
    WEIGHTS = "W*(3*C + 3) + 2"

    def __init__(self, channels=4, width=8):
        super().__init__()
        self.conv = nn.Conv1d(channels, width, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Conv1d(width, 2, 1)

    def forward(self, x):
        return self.head(self.act(self.conv(x)))

    @classmethod
    def formulas(cls, convention):
        outputs = "L*(W + 2)" if convention == "units" else "L*(2*W + 2)"
        connections = "L*W*(3*C + 2)" if convention == "units" else "L*W*(3*C + 3)"
        return (Formula("weights", cls.WEIGHTS), Formula("outputs", outputs),
                Formula("connections", connections))


class Forgot(Net):
    WEIGHTS = "W*(3*C + 1)"  # the head left out
"""

GOOD = """
from archcount.testing import assert_counts, assert_declared
from mynet import Net

def test_net():
    assert_counts(Net(), (1, 4, 16), weights=8 * 15 + 2, outputs=16 * 10, connections=16 * 8 * 14)
    assert_declared(Net, grid={"W": [2, 8], "channels": [1, 3], "L": [5, 16]})
    assert_declared(Net, grid={"W": [3]}, convention="modules")
"""

BAD = """
from archcount.testing import assert_counts, assert_declared
from mynet import Forgot, Net

def test_counts():
    assert_counts(Net(), (1, 4, 16), outputs=16 * 10, convention="modules")

def test_declared():
    assert_declared(Forgot, grid={"W": [2, 8]})
"""


def plugin_args() -> list[str]:
    """-p archcount.testing unless the installed metadata already loads it (pytest11)."""
    points = importlib.metadata.entry_points(group="pytest11")
    loaded = any(p.value == "archcount.testing" for p in points)
    return [] if loaded else ["-p", "archcount.testing"]


NONE = """
from archcount.testing import assert_declared
from torch import nn

def test_plain():
    assert_declared(lambda width=2: nn.Linear(3, width), grid={"width": [2]}, input_shape=(3,))
"""


def test_plugin_on_a_throwaway_project(pytester):
    """One pytest run in a subprocess (torch must not be imported twice in one process, as
    an in-process pytester run would), three test files: one passes, three fail rightly."""
    pytester.makepyfile(mynet=MYNET, test_good=GOOD, test_bad=BAD, test_none=NONE)
    result = pytester.runpytest_subprocess(*plugin_args(), "-rA", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["archcount *: assert_counts, assert_declared*"])
    out = result.stdout.str()
    for verdict, test in (
        ("PASSED", "test_good.py::test_net"),
        ("FAILED", "test_bad.py::test_counts"),
        ("FAILED", "test_bad.py::test_declared"),
        ("FAILED", "test_none.py::test_plain"),
    ):
        assert f"{verdict} {test}" in out
    # modules counts the ReLU's 8·16 outputs, units does not: the convention, named
    result.stdout.fnmatch_lines(
        [
            "*Net on 1×4×16 (modules): the hooks count otherwise*",
            "*outputs: expected 160, hooks count 288; missing 128: the ReLU outputs (act), "
            "counted under `modules`, not under `units`*",
        ]
    )
    # the declared weights leave out the head's 2W + 2, at W = 2 and at W = 8
    assert "Forgot: declared formulas differ from the hooks at 2 of 2 grid points" in out
    assert "missing 6: head (Conv1d)" in out and "missing 18: head (Conv1d)" in out
    # the per-layer counts at W = 2: conv 3·4·2 + 2 = 26, head 2·2 + 2 = 6, 0 in yours
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()]
    assert ["head", "Conv1d", "6", "0", "✗"] in cells and ["conv", "Conv1d", "26", "", ""] in cells
    # and in the symbols, from the derivation over C and W: the head's 2W + 2
    assert "in the symbols: weights: missing 2W + 2: head (Conv1d)" in out
    assert "declares no formulas under `units`" in out


def test_pyproject_declares_the_entry_point():
    """The plugin is registered as pytest11 `archcount`; the installed metadata agrees once the
    project is (re)installed (an editable install made before the entry point lacks it)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["pytest11"] == {"archcount": "archcount.testing"}
    assert callable(archcount.testing.pytest_report_header)
    installed = [
        p for p in importlib.metadata.entry_points(group="pytest11") if p.name == "archcount"
    ]
    if not installed:
        pytest.skip("archcount's installed metadata predates its pytest11 entry point: reinstall")
    assert installed[0].value == "archcount.testing"


def test_readme_plugin_example_passes():
    """The README's user test file, run as written (at most 6 lines of code)."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("**A pytest plugin for your own model.**", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 6
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0]()


def test_failure_table_shows_names_as_written():
    """A module named like rich markup or an emoji code is printed as it is named; its
    Linear(2, 3) has 2·3 + 3 = 9 weights, written here as 8."""
    from torch import nn

    from archcount.testing import assert_counts

    net = nn.Sequential()
    net.add_module(":llama:[bold]x[/bold]", nn.Linear(2, 3))
    with pytest.raises(AssertionError) as failure:
        assert_counts(net, (1, 2), weights=8)
    text = str(failure.value)
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines()]
    assert cells[-2][:3] == [":llama:[bold]x[/bold]", "Linear", "9"], text
