"""Fixtures: tiny CIFAR-10 written in the exact python-batch format, and the shared real data."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def write_cifar(folder: Path, per_batch: int = 20, seed: int = 0) -> Path:
    """Write data_batch_1..5, test_batch and batches.meta; labels cycle 0..9; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, name in enumerate(BATCHES):
        labels = [(j + i) % 10 for j in range(per_batch)]
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        # The official files are Python 2 pickles whose keys read back as bytes; the training
        # batches mimic that, the test batch uses str keys, so the loader must take both.
        key = (lambda k: k.encode()) if name != "test_batch" else (lambda k: k)
        batch = {
            key("batch_label"): f"{name} of tiny",
            key("labels"): labels,
            key("data"): data,
            key("filenames"): [f"img_{i}_{j}.png" for j in range(per_batch)],
        }
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
    meta = {
        b"label_names": [
            b"airplane",
            b"automobile",
            b"bird",
            b"cat",
            b"deer",
            b"dog",
            b"frog",
            b"horse",
            b"ship",
            b"truck",
        ],
        b"num_vis": 3072,
    }
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump(meta, fh, protocol=2)
    return folder


@pytest.fixture
def tiny_cifar_dir(tmp_path: Path) -> Path:
    """A cifar-10-batches-py/ folder: 6 batches x 20 random images (2 horses per batch)."""
    return write_cifar(tmp_path / "cifar-10-batches-py")


@pytest.fixture
def tiny_palette() -> np.ndarray:
    """An 8-colour palette: the corners of the RGB cube."""
    return np.array([[r, g, b] for r in (0, 1) for g in (0, 1) for b in (0, 1)], dtype=float)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real partial CIFAR-10 + the homework palette); skips when absent."""
    if not (SHARED / "cifar-10-partial" / "test_batch").is_file():
        pytest.skip("../shared/data not present")
    return SHARED.resolve()


@pytest.fixture(scope="session")
def starter():
    """The starter oracle, tests/train/starter.py (loaded by its path: tests are no package)."""
    spec = importlib.util.spec_from_file_location(
        "starter_oracle", Path(__file__).with_name("starter.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cli():
    """A bare app carrying only the theory/sweep commands, as train.cli registers them."""
    import typer

    from train.experiments.cli import register

    app = typer.Typer()

    @app.callback()
    def _root():
        pass

    register(app)
    return app


@pytest.fixture
def stop_at():
    """A Hooks class whose instance stop_at(N) raises KeyboardInterrupt in the log step of epoch
    N, before its checkpoint: a kill, for the --resume tests."""
    from train.loop import Hooks

    class StopAt(Hooks):
        def __init__(self, epoch):
            self.epoch = epoch

        def epoch_end(self, row):
            if row["epoch"] == self.epoch:
                raise KeyboardInterrupt

    return StopAt


@pytest.fixture
def tiny_data(tiny_cifar_dir, tiny_palette):
    """10 training and 2 validation 'horses' of random pixels, 8 colours, loaded."""
    from train.data.cifar import load_colorization

    return load_colorization(tiny_cifar_dir, palette=tiny_palette)
