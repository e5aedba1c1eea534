"""A CIFAR-10-format data set of any size, for timing at the homework's scale (5,000 horses).

Pictures come from a real CIFAR folder when one is given (each source image flipped and shifted
by a few pixels, so copies are not identical), else from smooth random fields; every image is
labelled with the category, written as python-format batches the loader reads as it reads
CIFAR-10.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from archcount.files import write_atomic
from train.data.cifar import TEST_BATCH, TRAIN_BATCHES, category_images, find_batch_dir


def _variants(source: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uint8 (3, 32, 32) images: source images, flipped and rolled by up to 3 pixels."""
    picks = source[rng.integers(0, len(source), n)]
    flips = rng.random(n) < 0.5
    picks[flips] = picks[flips][..., ::-1]
    shifts = rng.integers(-3, 4, size=(n, 2))
    return np.stack([np.roll(img, tuple(s), axis=(1, 2)) for img, s in zip(picks, shifts)])


def _random_fields(n: int, rng: np.random.Generator) -> np.ndarray:
    """n smooth random colour pictures (a coarse 4x4 field upsampled), uint8 (n, 3, 32, 32)."""
    coarse = rng.integers(0, 256, size=(n, 3, 4, 4)).astype(np.uint8)
    return coarse.repeat(8, axis=2).repeat(8, axis=3)


def write_synthetic(
    folder: Path,
    n_train: int,
    n_test: int,
    category: int = 7,
    source: Path | None = None,
    seed: int = 0,
) -> Path:
    """Write data_batch_1..5 and test_batch with n_train / n_test images of `category`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    if source is not None:
        real = find_batch_dir(source)
        train_src = category_images(real, TRAIN_BATCHES, category, {})
        test_src = category_images(real, (TEST_BATCH,), category, {})
        train, test = _variants(train_src, n_train, rng), _variants(test_src, n_test, rng)
    else:
        train, test = _random_fields(n_train, rng), _random_fields(n_test, rng)
    parts = np.array_split(train, len(TRAIN_BATCHES))
    for name, images in [*zip(TRAIN_BATCHES, parts), (TEST_BATCH, test)]:
        batch = {
            "batch_label": f"synthetic {name}",
            "labels": [category] * len(images),
            "data": np.ascontiguousarray(images.reshape(len(images), 3072)),
        }
        write_atomic(folder / name, pickle.dumps(batch, protocol=2))
    return folder
