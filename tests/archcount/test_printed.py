"""print() and rich.print() of what the Python API returns show its table (issue 23 item 2).

The tables are read back cell by cell and held to the records' own numbers, and the total
row to the sum of the layer rows (torchinfo's check); repr stays one line.
"""

import io
import re
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from rich.console import Console
from torch import nn

import archcount
from models import ConvTransposeNet, PoolUpsampleNet

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (1, 1, 32, 32)


@pytest.fixture
def run(monkeypatch):
    """PoolUpsampleNet (k 3, NF 8, NC 24, NIC 1) recorded once; 100 columns."""
    monkeypatch.setenv("COLUMNS", "100")
    return archcount.record(archcount.prepare(PoolUpsampleNet(3, 8, 24, 1), SHAPE))


def cells(text: str) -> dict[str, list[str]]:
    """Row label -> its cells, for every body and footer row of a drawn table."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("│"):
            row = [c.strip() for c in line.strip().strip("│").split("│")]
            rows[row[0]] = row[1:]
    return rows


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_print_shows_the_table_with_every_row_and_the_totals(run, capsys):
    report = run.report()
    text = str(report)
    assert "\x1b" not in text and "LayerCount(" not in text
    table = cells(text)
    assert len(table) == len(report.layers) + 1  # the rows, the total
    for x in report.layers:
        got = [number(c) for c in table[x.label][2:]]
        assert got == [x.weights, x.outputs, x.connections, x.connections_exact], x.label
    sums = [sum(number(table[x.label][i]) for x in report.layers) for i in range(2, 6)]
    assert [number(c) for c in table["total"][2:]] == sums
    assert sums == [9480, 2880 * 8 + 3328 * 24, 6261760, 5967904]  # SPEC's seed formulas
    print(report)
    assert capsys.readouterr().out == text + "\n"


def test_rich_print_draws_the_same_table_in_colour(run):
    report = run.report()
    plain = Console(file=io.StringIO(), width=100, color_system=None)
    plain.print(report)
    lines = [line.rstrip() for line in plain.file.getvalue().splitlines()]
    assert lines == str(report).splitlines()
    coloured = Console(file=io.StringIO(), width=100, color_system="truecolor", force_terminal=True)
    coloured.print(report)
    assert "\x1b[" in coloured.file.getvalue()  # dim activations: styled, not a repr


@pytest.mark.parametrize("columns", [90, 120, 200])
def test_the_text_fits_the_terminal(run, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    lines = str(run.report()).splitlines()
    assert max(map(len, lines)) <= columns
    assert all(number(c) for c in cells("\n".join(lines))["total"][2:])  # never cut


def test_repr_is_one_line_with_the_totals(run):
    report = run.report()
    text = repr(report)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("Report(model='PoolUpsampleNet', input_shape=(1, 1, 32, 32), ")
    fields = dict(re.findall(r"(\w+)=([\d_]+)", text))
    assert int(fields["layers"]) == len(report.layers) == 17
    t = report.totals
    assert [int(fields[k]) for k in ("weights", "outputs", "connections")] == [
        t.weights,
        t.outputs,
        t.connections,
    ]


def test_a_training_cost_prints_its_table(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for its rules: cells() splits on them
    cost = run.training()
    table = cells(str(cost))
    for x in cost.layers:
        assert number(table[x.label][1]) == x.forward_macs, x.label
    # forward MACs are the convolutions' connections (pools, upsampling and norms add none)
    convs = sum(x.connections for x in run.report().layers if x.type == "Conv2d")
    assert number(table["total"][1]) == cost.forward_macs == convs == 6193152
    text = repr(cost)
    assert "\n" not in text and f"training_macs={cost.training_macs:_}" in text


def test_receptive_fields_print_their_table(run):
    fields = run.receptive()
    table = cells(str(fields))
    assert set(table) == {"output"} | {x.label for x in fields.layers}
    assert table["output"][1] == "22–26 × 22–26"  # SPEC: PoolUpsampleNet at k=3, 26 and 22
    assert repr(fields) == "ReceptiveFields(layers=17, output=(26, 26), warnings=0)"


def test_names_are_printed_as_written(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    model = nn.Sequential(OrderedDict([(":llama:[bold]x", nn.Linear(3, 4))]))
    text = str(archcount.count(model, (1, 3), name="hf:llama [red]net[/red]"))
    assert "hf:llama [red]net[/red] on 1×3" in text
    assert ":llama:[bold]x" in cells(text)


def test_the_readme_shows_what_print_prints(monkeypatch):
    """README's 'From Python' output block is str(report) of its own example."""
    monkeypatch.setenv("COLUMNS", "100")
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### From Python") :]
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    with torch.device("meta"):
        net = ConvTransposeNet(kernel=3, num_filters=32, num_colours=24, num_in_channels=1)
    report = archcount.count(net, input_size=SHAPE, convention="units")
    assert shown == str(report) + "\n"
    assert repr(report) == " ".join(re.search(r"\(`(Report\(.*?\))`\)", section, re.S)[1].split())


def test_importing_archcount_loads_neither_rich_nor_render():
    code = (
        "import sys, archcount, archcount.records\n"
        "print(any(m.split('.')[0] == 'rich' or m.startswith('archcount.render') "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_functional_ops_repr_is_one_line():
    """A container's own ops (x @ x.T here): their count, not every OpCount."""

    class Gram(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Identity()

        def forward(self, x):
            x = self.pre(x)
            return x @ x.transpose(-1, -2)

    run = archcount.record(archcount.prepare(Gram(), (1, 5, 3)))
    f = run.functional()
    assert repr(f) == (  # 5x5 outputs, each of 3 taps
        "FunctionalOps(ops=1, convention='units', outputs=25, connections=75, unknown=[], "
        "warnings=0)"
    )
