"""Charts: PNG and SVG files that open, labelled axes, and the numbers they are drawn from."""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image
from typer.testing import CliRunner

import archcount
from archcount.cli.app import app
from archcount.front.series import parse_over, series
from archcount.front.space import derive_target, sampled
from archcount.records import Options
from archcount.render.plot import (
    Bar,
    Rows,
    chart_format,
    chart_rows,
    layer_bars,
    layers_chart,
    series_chart,
)
from models import PoolUpsampleNet

SVG = "{http://www.w3.org/2000/svg}"


def cli(*args):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})


def texts(svg: bytes) -> list[str]:
    """Every text element of an SVG (the charts keep text as text)."""
    root = ET.fromstring(svg)
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_count_plot_writes_png_and_svg_that_open(tmp_path):
    png, svg = tmp_path / "layers.png", tmp_path / "layers.svg"
    assert cli("models.PoolUpsampleNet", "--plot", str(png)).exit_code == 0
    r = cli("models.PoolUpsampleNet", "--convention", "modules", "--log", "--plot", str(svg))
    assert r.exit_code == 0, r.output
    pixels = image.imread(png)  # 13 in × (1.6 + 0.3 per row) in at 100 dpi
    assert pixels.shape[1] == 1300 and pixels.shape[0] == round(100 * (1.6 + 0.3 * 13))
    words = texts(svg.read_bytes())
    for label in ("weights, log scale", "outputs (units), log scale", "layer1.0 (Conv2d)"):
        assert label in words
    assert "connections (nominal), log scale" in words
    assert "layer1.3 (ReLU)" in words  # counted under `modules`, so drawn
    assert "models.PoolUpsampleNet on 1×1×32×32: per example (modules)" in words


def test_count_plot_bars_are_the_rows():
    """Conv2d(1→32, k 3) has 9·32 + 32 = 320 weights; the ReLUs (silent under units) are left
    out; layer5 (Conv2d 24→24)'s 24·32·32 outputs take 24·9 taps each: 5,308,416 → '5.31M'."""
    report = archcount.count(PoolUpsampleNet(), (1, 1, 32, 32))
    bars = layer_bars(report)
    assert bars[0] == Bar("layer1.0 (Conv2d)", 320, 32 * 32 * 32, 32 * 32 * 32 * 9)
    words = texts(layers_chart(report, bars, "svg"))
    assert "320" in words and "layer1.3 (ReLU)" not in words
    assert "4 rows that count nothing left out" in " ".join(words)
    assert bars[-1].connections == 24 * 32 * 32 * 24 * 9 and "5.31M" in words


def test_plot_refuses_other_suffixes_before_counting(tmp_path):
    r = cli("models.PoolUpsampleNet", "--plot", str(tmp_path / "chart.pdf"))
    assert r.exit_code == 2 and "use one of .png, .svg" in r.output
    assert list(tmp_path.iterdir()) == []
    r = cli("models.PoolUpsampleNet", "--plot", str(tmp_path / "no" / "chart.png"))
    assert r.exit_code == 2 and "--plot" in r.output and "no folder" in r.output
    with pytest.raises(archcount.ArchcountError, match=r"use a \.png or \.svg"):
        chart_format("chart.jpg")


@pytest.fixture(scope="module")
def line_series():
    """toys.Line (4×16 in, width 8) over its kernel 1..9, derived and counted again."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1]))
    try:
        model = sampled("toys.Line", {}, (4, 16))
        derivation, _ = derive_target(model, ["kernel"], {}, Options())
        yield series(model, derivation, "kernel", (1, 9))
    finally:
        sys.path.remove(str(Path(__file__).parents[1]))


def test_series_points_are_hooked_counts(line_series):
    """By hand: weights 8(4k + 3) + 2; an odd k keeps 16 positions: outputs 16·(8 + 2),
    connections 16·8·(4k + 2); an even k pads to 17: 170 outputs, 17·8·(4k + 2)."""
    s = line_series
    ks = range(1, 10)
    assert s.xs == tuple(ks)
    assert s.counted["weights"] == tuple(8 * (4 * k + 3) + 2 for k in ks)
    n = [16 if k % 2 else 17 for k in ks]
    assert s.counted["outputs"] == tuple(m * 10 for m in n)
    assert s.counted["connections"] == tuple(m * 8 * (4 * k + 2) for m, k in zip(n, ks))
    assert s.holds["connections"] == tuple(k % 2 == 1 for k in ks)
    assert all(s.holds["weights"]) and s.condition["connections"] == "kernel odd"
    assert s.value("connections", 4.5) == 512 * 4.5 + 256  # the closed form between points
    for q in ("weights", "connections", "connections_exact"):
        for x, c, h in zip(s.xs, s.counted[q], s.holds[q]):
            assert (s.value(q, x) == c) == h or q == "weights"


def test_series_chart_labels(line_series):
    words = texts(series_chart(line_series, "svg"))
    assert "toys.Line: totals over kernel" in words
    assert {"closed form", "hooks", "hooks, outside kernel odd", "kernel"} <= set(words)
    assert "connections = 512kernel + 256" in words


@pytest.mark.usefixtures("toys_importable")
def test_derive_plot_cli(tmp_path):
    out = tmp_path / "width.svg"
    r = cli("derive", "toys.Line", "--vars", "width", "--input-shape", "4,16", "--plot", str(out))
    assert r.exit_code == 0, r.output
    assert "toys.Line: totals over width" in texts(out.read_bytes())
    r = cli(
        "derive",
        "toys.Line",
        "--vars",
        "width",
        "--input-shape",
        "4,16",
        "--plot",
        str(out),
        "--plot-over",
        "depth",
    )
    assert r.exit_code == 2 and "not a variable of this derivation (width)" in r.output


def test_parse_over():
    assert parse_over("k") == ("k", None) and parse_over("k=2..9") == ("k", (2, 9))
    for bad in ("k=2", "k=a..9", "2k", "k=2..9..3"):
        with pytest.raises(archcount.ArchcountError):
            parse_over(bad)


counts = st.integers(0, 10**6)
bars_st = st.lists(
    st.tuples(counts, counts, st.none() | counts).map(lambda t: Bar("row", *t)), max_size=150
)


@settings(max_examples=60, deadline=None)
@given(bars_st, st.integers(2, 70))
def test_chart_rows_keep_the_largest_and_sum_the_rest(bars, limit):
    """Checked against brute force: silent rows left out, at most `limit` rows, the kept ones in
    their order and each at least as large (largest share of a panel's total) as any summed
    one, and the last row the sum of the others (unknown connections stay unknown)."""
    bars = [Bar(f"row {i}", b.weights, b.outputs, b.connections) for i, b in enumerate(bars)]
    rows = chart_rows(bars, limit)
    drawn = [b for b in bars if b.weights or b.outputs or b.connections != 0]
    assert rows.silent == len(bars) - len(drawn)
    if len(drawn) <= limit:
        assert rows == Rows(tuple(drawn), rows.silent, 0)
        return
    *kept, last = rows.bars
    assert len(rows.bars) == limit and rows.summed == len(drawn) - len(kept)
    assert kept == [b for b in drawn if b in kept]  # in the model's order
    rest = [b for b in drawn if b not in kept]
    total = {
        q: sum(getattr(b, q) or 0 for b in drawn) or 1
        for q in ("weights", "outputs", "connections")
    }
    share = {b.label: max((getattr(b, q) or 0) / total[q] for q in total) for b in drawn}
    assert min(share[b.label] for b in kept) >= max(share[b.label] for b in rest)
    assert (last.weights, last.outputs) == (
        sum(b.weights for b in rest),
        sum(b.outputs for b in rest),
    )
    unknown = any(b.connections is None for b in rest)
    assert last.connections == (None if unknown else sum(b.connections for b in rest))
    assert last.label == f"… {len(rest):,} more rows, summed"
