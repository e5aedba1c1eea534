"""The HTML page as text: every layer of the JSON data once, parents that add up, escaping.

The truth is the count's JSON data (`--json` of the same run) and plain sums over it; the
page is read back with the standard library's HTMLParser, not with our own code. The same
page in a real browser (sorting, collapsing) is test_html_browser.py.
"""

import json
import re
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from typer.testing import CliRunner

import archcount
from archcount.cli.app import app
from archcount.records import Kind, LayerCount, Options, Report
from archcount.render.export import exported
from archcount.render.html import OPEN_ROWS
from archcount.render.report import report_renderable

HERE = Path(__file__).parent
COUNTS = ("weights", "outputs", "connections", "connections_exact")
SCRIPT = "<script>alert(1)</script>"


class CountTable(HTMLParser):
    """The #count table's body rows (attributes, cell texts, cell data-values) and footer."""

    def __init__(self):
        super().__init__()
        self.rows, self.footer = [], None
        self._in, self._part, self._cell = False, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._in = attrs.get("id") == "count"
        elif self._in and tag in ("tbody", "tfoot"):
            self._part = tag
        elif self._in and tag == "tr" and self._part:
            row = {"attrs": attrs, "cells": [], "values": []}
            self.rows.append(row) if self._part == "tbody" else setattr(self, "footer", row)
        elif self._in and tag in ("td", "th") and self._part:
            self._cell = self.rows[-1] if self._part == "tbody" else self.footer
            self._cell["cells"].append("")
            self._cell["values"].append(attrs.get("data-value"))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = False
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None and data.strip() not in ("▾", "▸"):
            self._cell["cells"][-1] += data


def parsed(text: str) -> CountTable:
    table = CountTable()
    table.feed(text)
    return table


def number(text: str):
    """'1,234' -> 1234, '?' -> None, '1,234 + ?' -> 1234 (the known part)."""
    text = text.removesuffix(" + ?")
    return None if text == "?" else int(text.replace(",", ""))


def counts_of(row) -> tuple:
    """The four counts as shown, each checked against its data-value (what sorting reads)."""
    cells, values = row["cells"][-5:-1], row["values"][-5:-1]
    for cell, value in zip(cells, values):
        assert value == ("" if number(cell) is None else str(number(cell))), (cell, value)
    return tuple(number(c) for c in cells)


def count_json_and_page(tmp_path, *args):
    """(the --json data, the .html text) of one run of `archcount ARGS`."""
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, [*args, "--output", str(out), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), out.read_text(encoding="utf-8")


def assert_page_matches(data, text):
    """Each JSON layer is one leaf row with its numbers; parents add up; totals are the JSON's."""
    table = parsed(text)
    leaves = [r for r in table.rows if "group" not in r["attrs"]["class"]]
    shown = Counter((r["cells"][0], r["attrs"]["data-kind"], *counts_of(r)) for r in leaves)
    label = lambda x: x["name"] if x["call"] == 0 else f"{x['name']} (call {x['call'] + 1})"  # noqa: E731
    wanted = Counter((label(x), x["kind"], *(x[q] for q in COUNTS)) for x in data["layers"])
    assert shown == wanted
    assert_parents_add_up(table.rows)
    assert counts_of(table.footer) == tuple(data["totals"][q] for q in COUNTS)
    tops = [r for r in table.rows if "data-parent" not in r["attrs"]]
    assert sums(tops) == tuple(data["totals"][q] for q in COUNTS)


def sums(rows) -> tuple:
    """The four column sums of `rows`, as Totals.of adds: a cache row's only in the weights."""
    cache = [r["attrs"].get("data-kind") == Kind.CACHE.value for r in rows]
    got = [counts_of(r) for r in rows]
    weights = sum(g[0] for g in got)
    rest = [sum(g[i] or 0 for g, c in zip(got, cache) if not c) for i in (1, 2, 3)]
    return (weights, *rest)


def assert_parents_add_up(rows):
    """Every parent row shows the sums of the rows directly under it."""
    for parent in (r for r in rows if "group" in r["attrs"]["class"]):
        kids = [r for r in rows if r["attrs"].get("data-parent") == parent["attrs"]["id"]]
        assert kids, parent["cells"][0]
        assert counts_of(parent) == sums(kids), parent["cells"][0]


@pytest.mark.parametrize(
    "args",
    [
        ("models.PoolUpsampleNet", "--nic", "3", "--nf", "8"),
        ("models.UNet", "--convention", "modules", "--ignore-bias"),
        ("nets.Skips", "--input-shape", "4,6,6"),  # the model's own x * 2 at the top
        ("nets.Encoder", "--input-shape", "5,8"),  # 122 rows, attention, ops in forwards
    ],
)
def test_every_layer_once_and_parents_add_up(tmp_path, monkeypatch, args):
    monkeypatch.syspath_prepend(str(HERE))
    data, text = count_json_and_page(tmp_path, *args)
    assert_page_matches(data, text)


class Twice(nn.Module):
    """One Linear called twice (two rows of one module), and the model's own add."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU())

    def forward(self, x):
        return self.body(self.body(x)) + x


@pytest.mark.parametrize(
    ("model", "shape", "groups"),
    [
        (Twice(), (1, 4), ["body", "body.0", "body.1"]),  # each call a row under its module
        (nn.Linear(3, 2), (1, 3), []),  # a leaf model: its own row at the top
    ],
)
def test_calls_and_a_leaf_model(model, shape, groups):
    data = archcount.count(model, shape).to_dict()
    text = exported(".html", None, data)
    assert_page_matches(data, text)
    assert [r["cells"][0] for r in parsed(text).rows if "group" in r["attrs"]["class"]] == groups


def layer_rows():
    """Rows of made-up modules ('a.b.0'), some called twice, some unknown, some caches."""
    name = st.lists(st.sampled_from(["a", "b", "0", "1"]), min_size=1, max_size=3).map(".".join)
    count = st.integers(0, 10**12)
    row = st.builds(
        lambda n, call, kind, w, o, c: LayerCount(
            n, "T", kind, call, None, (1, 2), w, 0, o, c, None if c is None else c // 2
        ),
        name,
        st.integers(0, 1),
        st.sampled_from([Kind.LAYER, Kind.UNSUPPORTED, Kind.CACHE, Kind.ELEMENTWISE]),
        count,
        count,
        st.one_of(st.none(), count),
    )
    return st.lists(row, min_size=1, max_size=12, unique_by=lambda x: (x.name, x.call))


@settings(max_examples=40, deadline=None)
@given(layer_rows())
def test_any_module_tree_adds_up(rows):
    rows = tuple(r if r.kind is not Kind.UNSUPPORTED else replace(r, connections=None,
                 connections_exact=None) for r in rows)  # fmt: skip
    data = Report("m", {}, (1, 2), Options(), rows).to_dict()
    assert_page_matches(data, exported(".html", None, data))


def test_gpt2_cache_rows_and_model_owned_ops(tmp_path):
    """GPT-2: a KV-cache row (in no column's total but weights), ops of the model's own code."""
    pytest.importorskip("transformers")
    data, text = count_json_and_page(tmp_path, "hf:gpt2", "--arg", "n_layer=2", "--device", "meta")
    assert any(x["kind"] == "cache" for x in data["layers"])
    assert_page_matches(data, text)
    names = [r["cells"][0] for r in parsed(text).rows if "group" in r["attrs"]["class"]]
    assert names[:4] == ["h", "h.0", "h.0.attn", "h.0.mlp"]


def test_large_counts_open_at_depth_one(tmp_path, monkeypatch):
    """More rows than a screen: only the depth-1 rows show, every parent collapsed."""
    monkeypatch.syspath_prepend(str(HERE))
    data, text = count_json_and_page(tmp_path, "nets.Encoder", "--input-shape", "5,8")
    assert len(data["layers"]) > OPEN_ROWS
    rows = parsed(text).rows
    for r in rows:
        assert ("hidden" in r["attrs"]) == ("data-parent" in r["attrs"]), r["cells"][0]
    assert [r["cells"][0] for r in rows if "hidden" not in r["attrs"]] == [
        "embed",
        "blocks",
        "head",
    ]
    assert 'aria-expanded="true"' not in text


def test_bars_are_shares_of_the_totals(tmp_path):
    data, text = count_json_and_page(tmp_path, "models.ConvTransposeNet")
    t = data["totals"]
    shares = re.findall(r'<tr [^>]*>.*?data-share="([^"]+)".*?data-share="([^"]+)"', text)
    leaves = [r for r in parsed(text).rows]
    assert len(shares) == len(leaves)
    for row, (w, c) in zip(leaves, shares):
        weights, _, connections, _ = counts_of(row)
        assert float(w) == pytest.approx(100 * weights / t["weights"], rel=1e-5, abs=1e-9)
        assert float(c) == pytest.approx(100 * connections / t["connections"], rel=1e-5, abs=1e-9)


def hostile_report() -> Report:
    """Names, types and warnings as an attacker writes them, and a layer without a rule."""
    rows = (
        LayerCount("a", "Conv2d", Kind.LAYER, 0, (1, 1, 4), (1, 2, 4), 6, 0, 8, 24, 20),
        LayerCount(SCRIPT, "<img src=x onerror=alert(2)>", Kind.UNSUPPORTED, 0, None, None,
                   0, 3, 8, None, None),
        LayerCount("b.<i>x", "[bold]Mystery[/]", Kind.LAYER, 0, None, (1, 5), 1, 0, 5, 5, 5),
    )  # fmt: skip
    return Report(SCRIPT, {}, (1, 1, 4), Options(), rows, (f"x < y {SCRIPT}",))


def test_user_strings_are_escaped():
    report = hostile_report()
    text = exported(".html", report_renderable(report), report.to_dict())
    assert text.lower().count("<script") == 1  # ours, after every table; none from a name
    assert text.rindex("</table>") < text.index("<script>")
    assert "<img" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text and "[bold]Mystery[/]" in text
    assert "x &lt; y &lt;script&gt;" in text  # the warning, as the terminal's text under it


def test_unknowns_are_named_and_marked():
    report = hostile_report()
    text = exported(".html", None, report.to_dict())
    assert re.search(r"connections unknown in 1 layer .*&lt;script&gt;alert\(1\)", text)
    footer = parsed(text).footer["cells"]
    assert footer[-5:-1] == ["10", "21", "29 + ?", "25 + ?"]  # 6 + 3 + 1; 8 + 8 + 5; 24 + 5
    unknown = [r for r in parsed(text).rows if "unknown" in r["attrs"]["class"]]
    assert [r["cells"][0] for r in unknown] == [SCRIPT]


def test_the_page_needs_no_network(tmp_path):
    _, text = count_json_and_page(tmp_path, "models.PoolUpsampleNet")
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?:""", text)
    assert text.startswith("<!DOCTYPE html>") and "<style>" in text


def test_derive_and_check_pages_are_tables(tmp_path):
    """No count in their data: every table of the terminal's output, as a <table>."""
    out = tmp_path / "check.html"
    args = ["check", "models.PoolUpsampleNet", "--expect", "outputs=2880*NF + 3328*NC"]
    r = CliRunner().invoke(app, [*args, "--fix", "NIC=1", "--fix", "k=3", "--output", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert "<pre" not in text  # rich's export_html is a <pre> picture of the terminal
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", text)
    assert cells[:3] == ["outputs", "2880NF + 3328NC", "2880NF + 3328NC"]
    assert re.findall(r"<th>([^<]*)</th>", text)[:3] == ["quantity", "yours", "derived"]
