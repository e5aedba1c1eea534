"""The default view fits a screen: modules to a chosen depth when the per-layer table is long,
every view (count, training, receptive field, chart) at that depth, subtotals that add up to
the full per-layer table's sums, and JSON that keeps every layer."""

import importlib
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from archcount.cli.app import app
from archcount.front.counted import count_request
from archcount.front.request import CountRequest
from archcount.render.report import counted_renderable
from archcount.render.summary import ALL, SCREEN_ROWS, screen_depth, summary
from archcount.render.tree import height, visible
from archcount.training.options import TrainingOptions

HERE = Path(__file__).parent
ENCODER = ("nets.Encoder", "--input-shape", "10,8", "--device", "meta")


@pytest.fixture
def nets(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    return importlib.import_module("nets")


def text(renderable, width: int = 200) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False, color_system=None).print(renderable)
    return out.getvalue()


def run(*args: str, columns: int = 200) -> str:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.output
    return r.stdout


def counted_of(target: str, **kw):
    return count_request(CountRequest(target=target, input_shape=(10, 8), device="meta"), **kw)


def rows_of(table_text: str, names) -> dict[str, list[str]]:
    """{module: its cells} for the rows whose label is one of `names`."""
    out = {}
    for line in table_text.splitlines():
        cells = re.split(r"\s{2,}", re.sub("[│┃]", "  ", line).strip())
        if cells and cells[0] in names:
            out[cells[0]] = cells[1:]
    return out


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.mark.parametrize("net", ["models.PoolUpsampleNet", "models.ConvTransposeNet"])
def test_small_nets_keep_their_per_layer_table(net):
    counted = count_request(CountRequest(target=net))
    shown = summary(counted.report, counted.module_types, None)
    assert shown.depth is None and not shown.chosen
    assert len(counted.report.layers) <= SCREEN_ROWS


@pytest.mark.usefixtures("nets")
def test_a_long_table_becomes_the_deepest_depth_that_fits():
    counted = counted_of("nets.Encoder")
    assert len(counted.report.layers) == 122 > SCREEN_ROWS  # 12 blocks of 10 rows, 2 more
    shown = summary(counted.report, counted.module_types, None)
    assert shown.chosen and shown.depth == 3 == height(shown.root)
    assert len(visible(shown.root, shown.depth)) == 14  # embed, blocks, the run, its 10, head
    # each depth allowed by a limit is the deepest whose rows fit under it
    for limit in range(1, 20):
        d = screen_depth(shown.root, limit)
        fits = [k for k in range(1, 4) if len(visible(shown.root, k)) <= limit]
        assert d == max(fits, default=1)
    assert summary(counted.report, counted.module_types, ALL).depth is None
    assert summary(counted.report, counted.module_types, 2).depth == 2


def label_sums(labels_and_values, name: str) -> int:
    """By the flat list alone: the sum over rows of module `name` and every row inside it."""
    return sum(
        v for label, v in labels_and_values if re.match(rf"{re.escape(name)}($|[. ])", label)
    )


@pytest.mark.usefixtures("nets")
def test_training_modules_add_up_to_the_per_layer_table():
    counted = counted_of("nets.Encoder", training=TrainingOptions(batch=3))
    cost = counted.training
    shown = summary(counted.report, counted.module_types, 1)
    out = text(counted_renderable(counted, summary=shown)).split("training step")[1]
    rows = rows_of(out, {"embed", "blocks", "head", "total"})
    fields = ("forward_macs", "backward_input_macs", "backward_weight_macs")
    for i, field in enumerate(fields):
        flat = [(x.label, getattr(x, field)) for x in cost.layers]
        for name in ("embed", "blocks", "head"):
            assert number(rows[name][i + 1]) == label_sums(flat, name), (name, field)
        assert number(rows["total"][i]) == sum(v for _, v in flat)
        assert sum(number(rows[m][i + 1]) for m in ("embed", "blocks", "head")) == sum(
            v for _, v in flat
        )


@pytest.mark.usefixtures("nets")
def test_count_modules_add_up_to_the_per_layer_table():
    counted = counted_of("nets.Encoder")
    shown = summary(counted.report, counted.module_types, None)
    out = text(counted_renderable(counted, summary=shown))
    rows = rows_of(out, {"embed", "blocks", "head", "blocks.0–11 ×12"})
    for i, field in enumerate(("weights", "outputs", "connections", "connections_exact")):
        flat = [(x.label, getattr(x, field)) for x in counted.report.layers]
        for name in ("embed", "blocks", "head"):
            assert number(rows[name][i + 1]) == label_sums(flat, name)
        assert rows["blocks.0–11 ×12"][i + 1] == rows["blocks"][i + 1]


@pytest.mark.usefixtures("nets")
def test_receptive_fields_per_module_are_the_field_at_its_output():
    out = run("nets:strided_cnn", "--input-shape", "1,64,64", "--receptive-field")
    assert "summary: modules to depth 3" in out
    field = out.split("receptive field")[-1]
    rows = rows_of(field, {"stem", "body", "head", "output"})
    # by hand: the stem's 3x3 at stride 2 reads 3 positions, jump 2; each 3x3 block after it
    # adds (3 - 1) * 2 = 4; the 1x1 head adds nothing
    assert rows["stem"][1:3] == ["3 × 3", "2 × 2"]
    assert rows["body"][1:3] == [f"{3 + 4 * 20} × {3 + 4 * 20}", "2 × 2"]
    assert rows["head"][1] == rows["output"][0] == "83 × 83"


@pytest.mark.usefixtures("nets")
def test_cli_default_all_and_json():
    default = run(*ENCODER)
    assert "summary: modules to depth 3 (14 rows for 122 layer calls)" in " ".join(default.split())
    every = run(*ENCODER, "--depth", "all")
    assert "blocks.7.linear1" in every and "summary:" not in every
    assert run(*ENCODER, "--depth", "ALL") == every
    data = json.loads(run(*ENCODER, "--json"))
    assert "modules" not in data and len(data["layers"]) == 122  # JSON keeps every layer
    assert data == json.loads(run(*ENCODER, "--depth", "all", "--json"))
    assert [m["name"] for m in json.loads(run(*ENCODER, "--depth", "1", "--json"))["modules"]] == [
        "embed",
        "blocks",
        "head",
    ]


@pytest.mark.usefixtures("nets")
def test_default_chart_draws_the_summary_modules():
    counted = counted_of("nets.Encoder")
    shown = summary(counted.report, counted.module_types, None)
    drawn = shown.drawn()
    assert [x.name for x in drawn][:2] == ["embed", "blocks.0–11.self_attn"]
    assert sum(x.totals.connections for x in drawn) == counted.report.totals.connections
    assert summary(counted.report, counted.module_types, ALL).drawn() is None
