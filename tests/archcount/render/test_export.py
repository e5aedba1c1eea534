"""Results as data: CSV rows that round-trip to the --json numbers, a DataFrame, notebook HTML."""

import csv
import io
import json
import sys
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

import archcount
from archcount.cli.app import app
from archcount.errors import InputError
from archcount.records import Kind, LayerCount, Options, Report, flat_rows
from archcount.render.export import csv_text, exported
from models import ConvTransposeNet, PoolUpsampleNet

COUNTS = (
    "weights",
    "trainable_weights",
    "frozen_weights",
    "outputs",
    "connections",
    "connections_exact",
)


def cli(*args):
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    return r


def number(cell: str):
    return None if cell == "" else int(cell)


@pytest.mark.parametrize(
    "args",
    [
        ("models.PoolUpsampleNet", "--nic", "3", "--nf", "8", "--size", "16"),
        ("models.ConvTransposeNet", "--k", "4", "--convention", "modules", "--ignore-bias"),
    ],
)
def test_csv_round_trips_to_the_json_numbers(tmp_path, args):
    out = tmp_path / "count.csv"
    r = cli(*args, "--output", str(out), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == len(d["layers"]) + 1
    for row, layer in zip(rows, d["layers"]):
        assert (row["name"], row["type"], int(row["call"])) == (
            layer["name"],
            layer["type"],
            layer["call"],
        )
        assert row["output_shape"] == "×".join(map(str, layer["output_shape"]))
        for q in COUNTS:
            assert number(row[q]) == layer[q], (layer["name"], q)
    total = rows[-1]
    assert total["name"] == "total" and total["type"] == ""
    for q in COUNTS:
        assert number(total[q]) == d["totals"][q]
    assert sum(number(r["weights"]) for r in rows[:-1]) == d["totals"]["weights"]


def unknown_report():
    rows = (
        LayerCount("a", "Conv2d", Kind.LAYER, 0, (1, 1, 4), (1, 2, 4), 6, 0, 8, 24, 20),
        LayerCount("b", "Mystery", Kind.UNSUPPORTED, 0, (1, 2, 4), (1, 2, 4), 0, 3, 8, None, None),
    )
    return Report("m", {}, (1, 1, 4), Options(), rows)


def test_csv_unknown_connections_are_empty_cells():
    rows = list(csv.DictReader(io.StringIO(csv_text(unknown_report().to_dict()))))
    assert rows[1]["connections"] == "" and rows[1]["frozen_weights"] == "3"
    assert rows[2]["connections"] == "24" and rows[2]["connections_unknown_in"] == "b"


def test_csv_only_for_a_count():
    """derive and check have no layer rows: a .csv of theirs is refused, not written empty."""
    with pytest.raises(InputError, match="count's layers"):
        exported(".csv", None, {"formulas": {"weights": "NF"}})


def test_to_pandas_matches_the_report():
    pytest.importorskip("pandas")
    report = archcount.count(ConvTransposeNet(), (1, 1, 32, 32))
    df = report.to_pandas()
    assert len(df) == len(report.layers) and list(df["name"]) == [x.name for x in report.layers]
    for q in COUNTS:
        assert int(df[q].sum()) == getattr(report.totals, q)
    with_total = report.to_pandas(totals=True)
    assert with_total.iloc[-1]["name"] == "total"
    assert with_total.iloc[-1]["weights"] == report.totals.weights
    assert flat_rows(report.to_dict())[-1]["outputs"] == report.totals.outputs


def test_to_pandas_without_pandas_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"needs pandas: pip install pandas"):
        unknown_report().to_pandas()


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.inside = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        self.inside = tag in ("td", "th")

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.rows[-1].append(data)


def test_repr_html_is_the_table():
    report = archcount.count(PoolUpsampleNet(), (1, 1, 32, 32))
    parser = Cells()
    parser.feed(report._repr_html_())
    header, *body, footer = parser.rows
    assert header == ["layer", "type", "output", "weights", "outputs", "connections", "exact"]
    assert [r[0] for r in body] == [x.label for x in report.layers]
    assert body[0][2:4] == ["32×32×32", "320"]  # Conv2d(1→32, k 3): 9·32 + 32
    assert footer[0] == "total" and footer[1:] == [
        "49,728",
        "172,032",
        "13,398,016",
        "12,449,152",
    ]


def test_repr_html_escapes_and_marks_unknown():
    report = unknown_report()
    rows = (
        *report.layers[:1],
        LayerCount("<b>", "<i>", Kind.UNSUPPORTED, 0, None, None, 0, 0, 0, None, None),
    )
    text = Report("m", {}, (1, 1, 4), Options(), rows, ("x < y",))._repr_html_()
    assert "<b>" not in text and "&lt;b&gt;" in text and "x &lt; y" in text
    assert "24 + ?" in text


def test_flat_rows_per_dim_objects_become_columns():
    """A receptive field (one object per spatial dim) is a column per key, dims joined by ×."""
    layer = unknown_report().to_dict()["layers"][0]
    rf = [
        {"largest": 26, "smallest": 22, "jump": 4.0},
        {"largest": 26, "smallest": 22, "jump": 4.0},
    ]
    data = {"layers": [layer | {"receptive_field": rf}, layer | {"receptive_field": None}]}
    rows = flat_rows(data | {"totals": unknown_report().to_dict()["totals"]})
    assert rows[0]["receptive_field.largest"] == "26×26"
    assert rows[0]["receptive_field.jump"] == "4.0×4.0"
    assert rows[1]["receptive_field"] is None and rows[1]["receptive_field.largest"] is None
