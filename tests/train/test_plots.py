"""Pictures of a run: the samples grid is one mosaic, each tile the image it shows."""

import numpy as np
import pytest
import torch
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
