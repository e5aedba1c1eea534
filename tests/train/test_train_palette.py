"""Palettes: validation, nearest-colour quantisation on hand-made pixels, seeded k-means + cache."""

import numpy as np
import pytest

from train.data.palette import cached_kmeans_palette, kmeans_palette, load_palette, quantise
from train.errors import TrainError


def _image(*pixels):
    """uint8 (1, 3, 1, len(pixels)) from (r, g, b) triples."""
    return np.array(pixels, dtype=np.uint8).T.reshape(1, 3, 1, len(pixels))


def test_quantise_hand_made_pixels(tiny_palette):
    # tiny_palette index = 4r + 2g + b over the cube's corners
    img = _image((0, 0, 0), (255, 255, 255), (200, 10, 10), (10, 200, 250), (100, 20, 140))
    assert quantise(img, tiny_palette).tolist() == [[[0, 7, 4, 3, 1]]]


def test_quantise_scale_is_over_256_and_ties_go_low(tiny_palette):
    # 128/256 = 0.5 exactly: equidistant from all 8 corners, so np.argmin's lowest index, 0.
    # (Over 255 it would be 0.502 and pick white, 7: this pins the homework's /256 scale.)
    assert quantise(_image((128, 128, 128)), tiny_palette).item() == 0
    assert quantise(_image((129, 129, 129)), tiny_palette).item() == 7


def test_quantise_nearest_against_brute_force():
    rng = np.random.default_rng(1)
    palette = rng.random((24, 3))
    img = rng.integers(0, 256, size=(3, 3, 4, 4), dtype=np.uint8)
    got = quantise(img, palette, chunk=2).numpy()
    px = img.transpose(0, 2, 3, 1)[..., None, :] / 256.0
    want = np.linalg.norm(px - palette, axis=-1).argmin(axis=-1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("chunk", [1, 7, 1 << 14])
def test_quantise_tables_equal_the_pixelwise_float64_distances(chunk):
    # every level of every channel, and a palette with exact ties (colours mirrored about a
    # level) and near-ties (1 ulp apart): the looked-up sums must be the same float64 numbers
    rng = np.random.default_rng(2)
    palette = np.concatenate([rng.random((20, 3)), [[0.25, 0.5, 0.5], [0.5, 0.25, 0.5]]])
    palette = np.concatenate([palette, [np.nextafter(palette[0], 1.0), palette[1][::-1]]])
    levels = np.arange(256, dtype=np.uint8)
    img = np.stack([levels, rng.permutation(levels), rng.permutation(levels)])
    img = np.concatenate([img, rng.integers(0, 256, (3, 768), dtype=np.uint8)], axis=1)
    img = img.reshape(3, 4, 16, 16).transpose(1, 0, 2, 3)
    px = img.astype(np.float64)[:, None] / 256.0 - palette[None, :, :, None, None]
    squared = px**2
    want = ((squared[:, :, 0] + squared[:, :, 1]) + squared[:, :, 2]).argmin(axis=1)
    np.testing.assert_array_equal(quantise(img, palette, chunk=chunk).numpy(), want)


def test_quantise_no_images(tiny_palette):
    assert quantise(np.zeros((0, 3, 32, 32), np.uint8), tiny_palette).shape == (0, 32, 32)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((24, 4)), r"shape \(K, 3\)"),
        (np.zeros(3), "shape"),
        (np.full((4, 3), 2.0), "[0, 1]"),
    ],
)
def test_bad_palette_file(tmp_path, array, message):
    np.save(tmp_path / "p.npy", array)
    with pytest.raises(TrainError, match=message):
        load_palette(tmp_path / "p.npy")


def test_palette_file_not_npy(tmp_path):
    (tmp_path / "p.npy").write_text("hello")
    with pytest.raises(TrainError, match=r"not a plain .npy"):
        load_palette(tmp_path / "p.npy")
    with pytest.raises(TrainError, match="not found"):
        load_palette(tmp_path / "absent.npy")


def _two_colour_images():
    """Half the pixels (32, 64, 192), half (224, 192, 32)."""
    img = np.empty((4, 3, 8, 8), dtype=np.uint8)
    img[:, :, :, :4] = np.array([32, 64, 192]).reshape(1, 3, 1, 1)
    img[:, :, :, 4:] = np.array([224, 192, 32]).reshape(1, 3, 1, 1)
    return img


def test_kmeans_recovers_two_colours_and_is_seeded():
    pal = kmeans_palette(_two_colour_images(), k=2, seed=0)
    want = np.array([[32, 64, 192], [224, 192, 32]]) / 256
    np.testing.assert_allclose(pal[np.argsort(pal[:, 0])], want, atol=1e-12)
    np.testing.assert_array_equal(pal, kmeans_palette(_two_colour_images(), k=2, seed=0))


def test_kmeans_cache_beside_data_then_user_cache_when_read_only(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    notes = []
    first = cached_kmeans_palette(_two_colour_images(), 2, 0, 7, data_dir, notes)
    assert len(list(data_dir.glob("colour_kmeans2_cat7_seed0_*.npy"))) == 1
    again = cached_kmeans_palette(_two_colour_images(), 2, 0, 7, data_dir, notes)
    np.testing.assert_array_equal(first, again)
    assert "read from cache" in notes[-1]

    ro_dir = tmp_path / "ro"
    ro_dir.mkdir()
    ro_dir.chmod(0o555)
    notes = []
    cached_kmeans_palette(_two_colour_images(), 2, 0, 7, ro_dir, notes)
    assert list(ro_dir.iterdir()) == []
    assert "not writable" in notes[0]
    assert len(list((tmp_path / "xdg" / "archcount").glob("*.npy"))) == 1


def test_kmeans_cache_does_not_follow_a_planted_symlink(tmp_path, monkeypatch):
    # issue 21: the cache used to go through the predictable `.NAME.PID.tmp`; a link planted
    # there must neither be written through nor be where the palette lands
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    cached_kmeans_palette(_two_colour_images(), 2, 0, 7, data_dir, [])
    (name,) = [p.name for p in data_dir.iterdir()]
    (data_dir / name).unlink()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (data_dir / f".{name}.{os.getpid()}.tmp").symlink_to(victim)
    palette = cached_kmeans_palette(_two_colour_images(), 2, 0, 7, data_dir, [])
    assert victim.read_bytes() == b"precious"
    np.testing.assert_array_equal(load_palette(data_dir / name), palette)
    assert not (data_dir / name).is_symlink()
