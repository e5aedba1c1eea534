"""Pictures of a run: the samples grid is one mosaic, each tile the image it shows."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.image import imread

from train import plots


def test_mosaic_places_every_tile_on_white():
    rng = np.random.default_rng(0)
    gray = [rng.random((4, 5)) for _ in range(3)]
    rgb = [rng.random((4, 5, 3)) for _ in range(3)]
    grid = plots.mosaic([gray, rgb], gap=2)
    assert grid.shape == (2 * 4 + 2, 3 * 5 + 2 * 2, 3)
    for c in range(3):
        tile = grid[0:4, c * 7 : c * 7 + 5]
        np.testing.assert_array_equal(tile, np.repeat(gray[c][..., None], 3, axis=2))
        np.testing.assert_array_equal(grid[6:10, c * 7 : c * 7 + 5], rgb[c])
    assert (grid[4:6] == 1.0).all() and (grid[:, 5:7] == 1.0).all()  # the gaps


@pytest.mark.parametrize("photo", [True, False])
def test_samples_png_shows_the_predicted_colours(tmp_path, photo):
    # every prediction is colour 1 (pure red), every target colour 2 (pure blue), input gray 0.5
    palette = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    gray = torch.full((3, 1, 32, 32), 0.5)
    pred, truth = torch.ones(3, 32, 32, dtype=torch.long), torch.full((3, 32, 32), 2)
    photos = np.zeros((3, 3, 32, 32), np.uint8) if photo else None
    plots.save_samples(tmp_path / "s.png", gray, pred, truth, palette, "Net", photos)
    pixels = imread(tmp_path / "s.png")[..., :3].reshape(-1, 3)
    colours = {tuple(np.round(p, 2)) for p in pixels}
    assert {(1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.5, 0.5, 0.5)} <= colours


def _metrics(train_loss, val_loss, train_acc, val_acc):
    return [
        {"epoch": i + 1, "train_loss": a, "val_loss": b, "train_acc": c, "val_acc": d}
        for i, (a, b, c, d) in enumerate(zip(train_loss, val_loss, train_acc, val_acc))
    ]


def _overlap(a, b) -> bool:
    """Two display-space boxes share more than their edges."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _assert_legend_covers_nothing(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    assert legends
    for legend in legends:
        _assert_covers_nothing(fig, legend.get_window_extent(renderer), renderer)
    return legends


def _assert_covers_nothing(fig, box, renderer):
    page = fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    for ax in fig.axes:
        assert not _overlap(box, ax.get_window_extent(renderer))  # so no point, no curve
        for line in ax.lines:
            for x, y in ax.transData.transform(line.get_xydata()):
                assert not (box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1), (x, y)
        for text in [*_drawn_ticks(ax), ax.xaxis.label, ax.yaxis.label]:
            assert not _overlap(box, text.get_window_extent(renderer)), text.get_text()


def _drawn_ticks(ax):
    """The tick labels drawn: matplotlib keeps labels of ticks past the view limits, undrawn."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    xs = [t for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1]
    ys = [t for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1]
    return [t for t in xs + ys if t.get_visible() and t.get_text()]


@pytest.mark.parametrize(
    "metrics",
    [
        # the 2-epoch ConvTransposeNet run whose legend spilled over its accuracy panel
        _metrics([3.1255, 2.8895], [3.1671, 3.1311], [0.076, 0.135], [0.072, 0.103]),
        _metrics([3.0] * 25, np.linspace(3, 1.5, 25), np.linspace(0.1, 0.6, 25), [0.5] * 25),
        _metrics([2.0], [2.1], [0.3], [0.31]),  # one epoch
    ],
    ids=["ConvTransposeNet-2", "flat-25", "one"],
)
def test_curves_legend_covers_no_point_and_no_label(metrics):
    legends = _assert_legend_covers_nothing(plots.curves_figure(metrics, "Net"))
    assert len(legends) == 1  # one for both panels


@settings(max_examples=12, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.lists(
            st.lists(st.floats(0.0, 5.0, allow_nan=False), min_size=n, max_size=n),
            min_size=4,
            max_size=4,
        )
    )
)
def test_curves_legend_covers_nothing_whatever_the_curves(series):
    _assert_legend_covers_nothing(plots.curves_figure(_metrics(*series), "Net"))
