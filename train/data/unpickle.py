"""A CIFAR-10 batch is a pickle: read it with an unpickler that imports only what the format needs.

The python version of CIFAR-10 holds a dict of str/bytes keys, a list of int labels, a list of
file names and one uint8 numpy array. Plain containers need no import; the array needs numpy's
reconstruction functions and dtype, and a protocol-2 pickle written by Python 3 stores bytes
through codecs.encode(text, "latin1"). Anything else a file asks to import (os.system,
builtins.eval, a class with a __reduce__) is refused before it can run.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path

import numpy as np

from train.errors import TrainError

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
        if module == "numpy":
            return getattr(np, name)
        return super().find_class(module, name)


def load_batch_pickle(blob: bytes, source: Path):
    """The object pickled in blob, built from containers, ints, strings and numpy arrays only."""
    return BatchUnpickler(io.BytesIO(blob), source).load()
