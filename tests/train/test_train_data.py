"""The CIFAR-10 loader on data written in the exact python-batch format, and on real pictures."""

import pickle

import numpy as np
import pytest
import torch

from train.data.cifar import find_batch_dir, load_colorization, read_batch
from train.errors import TrainError


def _horses(folder, name, category=7):
    """Rows of one batch with the given label, read back independently of the loader."""
    with open(folder / name, "rb") as fh:
        raw = pickle.load(fh, encoding="latin1")
    raw = {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}
    return raw["data"][np.array(raw["labels"]) == category]


def test_shapes_and_category_selection(tiny_cifar_dir, tiny_palette):
    data = load_colorization(tiny_cifar_dir, category=7, palette=tiny_palette)
    # labels are (j + i) % 10 for j < 20: each batch holds exactly two of every class
    assert data.train_x.shape == (10, 1, 32, 32) and data.train_x.dtype == torch.float32
    assert data.train_y.shape == (10, 32, 32) and data.train_y.dtype == torch.int64
    assert data.test_x.shape == (2, 1, 32, 32) and data.test_y.shape == (2, 32, 32)
    assert data.num_colours == 8


def test_grayscale_is_mean_rgb_over_256(tiny_cifar_dir, tiny_palette):
    data = load_colorization(tiny_cifar_dir, category=3, palette=tiny_palette)
    rows = np.concatenate([_horses(tiny_cifar_dir, f"data_batch_{i}", 3) for i in range(1, 6)])
    r, g, b = (rows[0, c * 1024 + 5 * 32 + 7].astype(float) for c in range(3))  # pixel (5, 7)
    assert data.train_x[0, 0, 5, 7].item() == pytest.approx((r + g + b) / 3 / 256, abs=1e-7)
    expected = rows.reshape(-1, 3, 32, 32).astype(float).mean(axis=1) / 256
    np.testing.assert_allclose(data.train_x[:, 0].numpy(), expected, atol=1e-7)
    assert data.train_x.min() >= 0.0 and data.train_x.max() < 1.0


def test_accepts_parent_folder(tiny_cifar_dir):
    assert find_batch_dir(tiny_cifar_dir.parent) == tiny_cifar_dir
    assert find_batch_dir(tiny_cifar_dir) == tiny_cifar_dir


def test_checksum_mismatch_is_one_note_and_loading_goes_on(tiny_cifar_dir, tiny_palette):
    data = load_colorization(tiny_cifar_dir, palette=tiny_palette)
    assert len(data.notes) == 1
    assert "differ from the official CIFAR-10 release" in data.notes[0]
    assert "data_batch_1" in data.notes[0] and "test_batch" in data.notes[0]


def test_missing_data_says_how_to_get_it(tmp_path):
    with pytest.raises(TrainError, match=r"cifar-10-python.tar.gz"):
        load_colorization(tmp_path)


def test_missing_one_batch_is_named(tiny_cifar_dir):
    (tiny_cifar_dir / "data_batch_4").unlink()
    with pytest.raises(TrainError, match="lacks data_batch_4"):
        find_batch_dir(tiny_cifar_dir)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a pickle", "not a CIFAR-10 python batch"),
        (pickle.dumps([1, 2, 3]), "expected a pickled dict"),
        (pickle.dumps({"labels": [1]}), "missing 'data' or 'labels'"),
        (pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [1, 2]}), "N x 3072"),
        (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [1]}), "2 integers"),
    ],
)
def test_malformed_batch(tiny_cifar_dir, content, message):
    (tiny_cifar_dir / "data_batch_2").write_bytes(content)
    with pytest.raises(TrainError, match=message):
        read_batch(tiny_cifar_dir / "data_batch_2")
    with pytest.raises(TrainError, match=message):
        load_colorization(tiny_cifar_dir, palette=np.eye(3))


@pytest.mark.parametrize("category", [-1, 10, "7"])
def test_bad_category(tiny_cifar_dir, category):
    with pytest.raises(TrainError, match="category"):
        load_colorization(tiny_cifar_dir, category=category, palette=np.eye(3))


def test_real_partial_cifar(shared_data):
    data = load_colorization(
        shared_data / "cifar-10-partial", palette=shared_data / "colour_kmeans24_cat7.npy"
    )
    assert len(data.train_x) == 516 and len(data.test_x) == 102  # the README's horse counts
    assert data.palette.shape == (24, 3)
    counts = torch.bincount(data.train_y.flatten(), minlength=24)
    assert (counts > 0).all()  # a horse palette is used in full by horse pictures
