"""Module subtotals: every row in exactly one leaf, children adding up to parents, runs merged."""

import importlib
import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import archcount
from archcount.cli.app import app
from archcount.engine.functional import with_functional
from archcount.engine.walk import prepare
from archcount.recording import record
from archcount.records import Kind, LayerCount, Options, Report
from archcount.render.tree import Node, collapsed, module_tree, module_types, visible
from models import ConvTransposeNet, PoolUpsampleNet, UNet

QUANTITIES = ("weights", "trainable_weights", "outputs", "connections", "connections_exact")
HERE = Path(__file__).parent


@pytest.fixture
def nets(monkeypatch):
    """This folder's nets.py, importable (also as a TARGET)."""
    monkeypatch.syspath_prepend(str(HERE))
    return importlib.import_module("nets")


def tree_of(model, size, **kw):
    report = archcount.count(model, size, **kw)
    return report, module_tree(report, module_types(model.named_modules()))


def nodes(node: Node):
    yield node
    for c in node.children:
        yield from nodes(c)


def assert_adds_up(root: Node, report: Report):
    """Each parent's totals are its children's sums; the leaves hold each row exactly once."""
    for node in nodes(root):
        if node.children:
            for q in QUANTITIES:
                got = sum(getattr(c.totals, q) for c in node.children)
                assert got == getattr(node.totals, q), (node.name, q)
    leaves = Counter(id(r) for node in nodes(root) if not node.children for r in node.rows)
    assert leaves == Counter(id(r) for r in report.layers)
    for q in QUANTITIES:
        assert getattr(root.totals, q) == getattr(report.totals, q)


@pytest.mark.parametrize("net", [PoolUpsampleNet, ConvTransposeNet, UNet])
@pytest.mark.parametrize("convention", ["units", "modules"])
def test_homework_subtotals_add_up_exactly(net, convention):
    report, root = tree_of(net(), (1, 1, 32, 32), convention=convention)
    assert_adds_up(root, report)
    assert_adds_up(collapsed(root), report)
    for depth in (1, 2):  # the depth-1 rows alone sum to the totals
        shown = [x for x in visible(collapsed(root), depth) if x.depth == 1]
        assert sum(x.totals.connections for x in shown) == report.totals.connections


def test_pool_upsample_layer1_by_hand():
    """layer1 = Conv2d(1→32, k 3) + MaxPool + BN + ReLU on 32×32: weights 9·32 + 32 + 64."""
    _, root = tree_of(PoolUpsampleNet(), (1, 1, 32, 32))
    layer1 = root.children[0]
    assert (layer1.name, layer1.type, layer1.depth) == ("layer1", "Sequential", 1)
    assert layer1.totals.weights == 9 * 32 + 32 + 64
    # conv 32·32·32 outputs, pool and BN 32·16·16 each (ReLU silent under units)
    assert layer1.totals.outputs == 32 * 32 * 32 + 2 * 32 * 16 * 16
    assert [c.name for c in layer1.children] == [f"layer1.{i}" for i in range(4)]


def test_twelve_blocks_collapse_to_one_row(nets):
    with torch.device("meta"):
        model = nets.Encoder()
    report, root = tree_of(model, (1, 10, 8))
    one = root.children[1].children[0]  # blocks.0, expanded
    run = collapsed(root).children[1].children
    assert len(run) == 1 and run[0].label == "blocks.0–11 ×12"
    assert run[0].type == "TransformerEncoderLayer"
    for q in QUANTITIES:
        assert getattr(run[0].totals, q) == 12 * getattr(one.totals, q)
    # attention 3·16·16 + 3·16 + 16·16 + 16, two norms 2·32, FFN 16·32 + 32 + 32·16 + 16
    assert one.totals.weights == 1088 + 64 + 544 + 528
    assert [c.label for c in run[0].children][:3] == [
        "blocks.0–11.self_attn ×12",
        "blocks.0–11.dropout1 ×12",
        "blocks.0–11.norm1 ×12",
    ]
    assert_adds_up(collapsed(root), report)
    assert len(root.children[1].children) == 12  # expanded: every block


def test_a_different_block_breaks_the_run(nets):
    with torch.device("meta"):
        model = nets.Encoder(odd_last=True)
    _, root = tree_of(model, (1, 10, 8))
    labels = [c.label for c in collapsed(root).children[1].children]
    assert labels == ["blocks.0–10 ×11", "blocks.11"]


def test_functional_ops_belong_to_their_owner(nets):
    """x + conv(x) inside Skip is a leaf under body.i; the model's own x * 2 under the root."""
    model = nets.Skips()
    base = archcount.count(model, (1, 4, 8, 8), convention="modules")
    ops = record(prepare(model, (1, 4, 8, 8))).functional("modules")
    report = with_functional(base, ops)
    root = module_tree(report, module_types(model.named_modules()))
    assert_adds_up(root, report)
    skip = root.children[0].children[0]
    assert [c.name for c in skip.children] == ["body.0.conv", "body.0 (aten.add ×1)"]
    # the add: 4·8·8 outputs, 2 connections each
    assert skip.children[1].totals.outputs == 256 and skip.children[1].totals.connections == 512
    assert root.children[-1].name == "Skips (aten.mul ×1)"
    merged = collapsed(root).children[0].children[0]
    assert merged.label == "body.0–1 ×2"
    assert [c.label for c in merged.children] == [
        "body.0–1.conv ×2",
        "body.0–1 (aten.add ×1) ×2",
    ]


def row(name, type_="Linear", weights=0, outputs=0):
    return LayerCount(name, type_, Kind.LAYER, 0, None, None, weights, 0, outputs, outputs, outputs)


def test_op_rows_named_either_way_and_own_rows():
    """'h.0.attn (aten.bmm ×2)' and 'h.0.attn: aten.add' are leaves of h.0.attn; a module with
    a row of its own and children gets an '(own)' child, so the children still add up."""
    rows = (
        row("h.0.attn", "Attention", weights=3, outputs=5),
        row("h.0.attn.proj", weights=7, outputs=11),
        row("h.0.attn (aten.bmm ×2)", "aten.bmm", outputs=13),
        row("h.0.attn: aten.add", "aten.add", outputs=17),
        row("Net: aten.mul", "aten.mul", outputs=19),
    )
    report = Report("Net", {}, (1, 4), Options(), rows)
    types = {"": "Net", "h": "ModuleList", "h.0": "Block", "h.0.attn": "Attention"}
    types["h.0.attn.proj"] = "Linear"
    root = module_tree(report, types)
    attn = root.children[0].children[0].children[0]
    names = [c.name for c in attn.children]
    assert names == [
        "h.0.attn (own)",
        "h.0.attn.proj",
        "h.0.attn (aten.bmm ×2)",
        "h.0.attn: aten.add",
    ]
    assert attn.totals.outputs == 5 + 11 + 13 + 17 and attn.totals.weights == 10
    assert root.children[1].name == "Net: aten.mul" and root.totals.outputs == 65
    assert_adds_up(root, report)


def run(*args):
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.usefixtures("nets")
def test_cli_depth_table_and_json():
    args = ("nets.Encoder", "--input-shape", "10,8", "--device", "meta", "--depth", "2")
    table = run(*args).split("functional ops")[0]  # the modules table, not the op list
    assert "blocks.0–11 ×12" in table and "blocks.0 " not in table
    d = json.loads(run(*args, "--json"))
    top = d["modules"]
    assert [m["name"] for m in top] == ["embed", "blocks", "head"]
    for q in QUANTITIES:
        assert sum(m["totals"][q] for m in top) == d["totals"][q]
    (run_,) = top[1]["children"]
    assert (run_["name"], run_["repeat"], run_["depth"], run_["children"]) == (
        "blocks.0–11",
        12,
        2,
        [],  # below --depth
    )
    expanded = json.loads(run(*args, "--expand", "--json"))["modules"][1]["children"]
    assert [m["name"] for m in expanded] == [f"blocks.{i}" for i in range(12)]
    assert sum(m["totals"]["connections"] for m in expanded) == run_["totals"]["connections"]
