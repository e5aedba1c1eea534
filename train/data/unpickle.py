"""A CIFAR-10 batch is a pickle: read it with an unpickler that imports only what the format needs
and builds nothing larger than the file that describes it.

The python version of CIFAR-10 holds a dict of str/bytes keys, a list of int labels, a list of
file names and one uint8 numpy array. Plain containers need no import; the array needs numpy's
reconstruction functions and dtype, and a protocol-2 pickle written by Python 3 stores bytes
through codecs.encode(text, "latin1"). Anything else a file asks to import (os.system,
builtins.eval, a class with a __reduce__) is refused before it can run.

Sizes: every pickle opcode makes at most one object or one reference, so what the unpickler
builds grows with the file, whose size read_batch bounds (MAX_BATCH_BYTES) before reading it;
the one call that could allocate more, numpy's array constructor, is refused (the array's
bytes must come from the file) and its reconstructor is bounded. Depth and shared references
cost nothing until something expands them ("billion laughs": a list of 40 nested levels of
shared references is 31 KB as a pickle and ~24 GB as an array), so check_batch refuses any
nesting in the values the loader reads, at the first nested item, before any conversion.
"""

from __future__ import annotations

import codecs
import io
import math
import pickle
from pathlib import Path

import numpy as np

from train.errors import TrainError

# The official batches are 31 MB (10,000 images); eight times that is no CIFAR-10 batch.
MAX_BATCH_BYTES = 256 * 2**20

# (module, name) pairs a well-formed batch may import; numpy 1 and numpy 2 spell them apart.
ALLOWED = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)


def _latin1_encode(text: str, encoding: str = "utf-8", *rest) -> bytes:
    """codecs.encode limited to the text -> bytes codecs pickle itself uses for bytes objects."""
    if encoding not in ("latin1", "latin-1", "utf-8", "utf8") or rest:
        raise pickle.UnpicklingError(f"codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, encoding)


class _ArrayType:
    """Stands for numpy.ndarray in a batch: the reconstructor's argument, never called itself
    (ndarray(shape) would allocate memory the file never paid for)."""

    def __init__(self, *args, **kwargs):
        raise pickle.UnpicklingError("numpy.ndarray called directly")


def _bounded_reconstruct(real):
    """numpy's _reconstruct(ndarray, shape, dtype), refusing a shape past MAX_BATCH_BYTES."""

    def reconstruct(subtype, shape, dtype):
        if subtype is not _ArrayType:
            raise pickle.UnpicklingError("_reconstruct of something other than an ndarray")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise pickle.UnpicklingError(f"array shape {shape!r}")
        if math.prod(shape) * np.dtype(dtype).itemsize > MAX_BATCH_BYTES:
            raise pickle.UnpicklingError("an array larger than a batch file may be")
        return real(np.ndarray, shape, dtype)

    return reconstruct


class BatchUnpickler(pickle.Unpickler):
    """pickle.Unpickler whose find_class resolves only the ALLOWED globals."""

    def __init__(self, file, source: Path):
        super().__init__(file, encoding="latin1")  # latin1 reads Python 2's official files
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise TrainError(f"refusing to load {self.source}: it asks to import {module}.{name}")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if (module, name) == ("numpy", "ndarray"):
            return _ArrayType
        if module == "numpy":
            return getattr(np, name)
        if name == "_reconstruct":
            return _bounded_reconstruct(super().find_class(module, name))
        return super().find_class(module, name)


def load_batch_pickle(blob: bytes, source: Path):
    """The object pickled in blob, built from containers, ints, strings and numpy arrays only."""
    return BatchUnpickler(io.BytesIO(blob), source).load()


def check_batch(raw, source: Path) -> tuple[np.ndarray, list | np.ndarray]:
    """(data, labels) of an unpickled batch, each of the format's shape, else TrainError; the
    labels are a flat sequence of ints (no nesting, so no shared reference is ever expanded)."""
    if not isinstance(raw, dict):
        raise TrainError(f"{source}: expected a pickled dict, got {type(raw).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}
    if "data" not in batch or "labels" not in batch:
        raise TrainError(f"{source}: missing 'data' or 'labels' (keys: {sorted(map(str, batch))})")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray):
        raise TrainError(f"{source}: 'data' must be a uint8 N x 3072 array, got {_kind(data)}")
    if isinstance(labels, np.ndarray):
        return data, labels
    if not isinstance(labels, list | tuple):
        raise TrainError(f"{source}: 'labels' must be a list of integers, got {_kind(labels)}")
    for i, label in enumerate(labels):
        if not isinstance(label, int):  # a nested list is refused here, unexpanded
            kind = _kind(label)
            raise TrainError(f"{source}: 'labels' must be flat integers, item {i} is {kind}")
    return data, labels


def _kind(value) -> str:
    """A short description of a value that never prints (or expands) its contents."""
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"
