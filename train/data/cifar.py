"""CIFAR-10 python batches -> grayscale inputs and palette-index targets for one category."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from train.data.palette import (
    PIXEL_SCALE,
    cached_kmeans_palette,
    load_palette,
    quantise,
    validate_palette,
)
from train.data.unpickle import MAX_BATCH_BYTES, check_batch, load_batch_pickle
from train.errors import TrainError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
# The official release's md5s (the list torchvision checks against).
OFFICIAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
# A --data-dir without batches is searched this deep, over at most this many folders a level
# (a home folder must not cost a walk of the disk), for the folder the user meant
BELOW_DEPTH = 2
BELOW_FOLDERS = 200
HOW_TO_GET = (
    "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extract it and pass "
    "--data-dir path/to/cifar-10-batches-py"
)


@dataclass(frozen=True)
class ColorizationData:
    """Tensors for one category: x float32 (N,1,32,32) gray in [0,1), y int64 (N,32,32) indices."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    palette: np.ndarray  # float64 (K, 3), RGB in [0, 1]
    notes: list[str] = field(default_factory=list)  # things worth telling the user, one line each
    test_rgb: np.ndarray | None = None  # uint8 (N, 3, H, W): the photos, for samples.png

    @property
    def num_colours(self) -> int:
        """K, the number of palette colours (the nets' output channels)."""
        return len(self.palette)


def load_colorization(
    data_dir: str | Path,
    category: int = 7,
    palette: np.ndarray | str | Path | None = None,
    num_colours: int = 24,
    seed: int = 0,
) -> ColorizationData:
    """Read CIFAR-10 from data_dir, keep one category; palette: array, .npy path, None (k-means)."""
    if not isinstance(category, int) or not 0 <= category <= 9:
        raise TrainError(f"category must be an integer 0-9, got {category!r}")
    folder = find_batch_dir(data_dir)
    digests: dict[str, str] = {}  # each file is read once: its md5 comes from the same bytes
    train_rgb = category_images(folder, TRAIN_BATCHES, category, digests)
    test_rgb = category_images(folder, (TEST_BATCH,), category, digests)
    notes = checksum_notes(digests)
    if palette is None:
        pal = cached_kmeans_palette(train_rgb, num_colours, seed, category, folder, notes)
    elif isinstance(palette, (str, Path)):
        pal = load_palette(palette)
    else:
        pal = validate_palette(palette)
    return ColorizationData(
        train_x=grayscale(train_rgb),
        train_y=quantise(train_rgb, pal),
        test_x=grayscale(test_rgb),
        test_y=quantise(test_rgb, pal),
        palette=pal,
        notes=notes,
        test_rgb=test_rgb,
    )


def grayscale(rgb: np.ndarray) -> torch.Tensor:
    """float32 (N, 1, H, W) = mean of R, G, B of uint8 (N, 3, H, W), divided by 256."""
    return torch.as_tensor(rgb.astype(np.float64).mean(axis=1, keepdims=True) / PIXEL_SCALE).float()


def find_batch_dir(data_dir: str | Path) -> Path:
    """The folder holding the batches: data_dir itself or its cifar-10-batches-py/ child."""
    root = Path(data_dir)
    for folder in (root, root / "cifar-10-batches-py"):
        if _has_batches(folder):
            missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / n).is_file()]
            if missing:
                raise TrainError(f"CIFAR-10 in {folder} lacks {', '.join(missing)}: {HOW_TO_GET}")
            return folder
    below = batches_below(root)
    looked = f"no CIFAR-10 python batches in {root} (nor in its cifar-10-batches-py/)"
    if below is not None:
        raise TrainError(
            f"{looked}; {below.relative_to(root)}/ below it has them: pass --data-dir {below}"
        )
    raise TrainError(f"{looked}: {HOW_TO_GET}")


def batches_below(root: Path, depth: int = BELOW_DEPTH) -> Path | None:
    """The first folder (sorted, hidden ones skipped) at most `depth` levels below `root` that
    holds batches: where a --data-dir one or two folders too high meant to point."""
    level = [root]
    for _ in range(depth):
        level = [child for folder in level for child in _subfolders(folder)][:BELOW_FOLDERS]
        for folder in level:
            if _has_batches(folder):
                return folder
    return None


def _subfolders(folder: Path) -> list[Path]:
    """The visible subfolders of `folder`, sorted; none where it cannot be read."""
    try:
        children = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        return [p for p in children if p.is_dir()]
    except OSError:
        return []


def _has_batches(folder: Path) -> bool:
    return (folder / TEST_BATCH).is_file() or (folder / TRAIN_BATCHES[0]).is_file()


def checksum_notes(digests: dict[str, str]) -> list[str]:
    """One note naming the batches whose md5 differs from the official release (none if equal)."""
    differ = [name for name, md5 in OFFICIAL_MD5.items() if digests.get(name) != md5]
    if not differ:
        return []
    line = (
        f"checksums of {', '.join(differ)} differ from the official CIFAR-10 release "
        "(a subset or a modified copy?); going on because the files are well-formed"
    )
    return [line]


def read_batch(path: Path, digests: dict[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(data uint8 (N, 3072), labels int64 (N,)) from one pickled batch, else TrainError;
    the file's md5 goes into `digests` under its name."""
    size = path.stat().st_size  # before reading: a sparse 40 GB file must cost nothing
    if size > MAX_BATCH_BYTES:
        raise TrainError(
            f"{path}: {size:,} bytes, larger than a CIFAR-10 batch can be "
            f"(at most {MAX_BATCH_BYTES:,}; the official ones are 31 MB)"
        )
    blob = path.read_bytes()
    if digests is not None:
        digests[path.name] = hashlib.md5(blob).hexdigest()
    try:
        # A restricted unpickler: the file may rebuild containers and numpy arrays, nothing else.
        raw = load_batch_pickle(blob, path)
    except TrainError:
        raise  # a refused import, named
    except Exception as exc:  # any other unpickling failure means the file is not a batch
        raise TrainError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__})") from exc
    data, labels = check_batch(raw, path)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise TrainError(f"{path}: 'data' must be uint8 N x 3072, got {data.dtype} {data.shape}")
    labels = np.asarray(labels) if len(labels) else np.zeros(0, np.int64)
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise TrainError(f"{path}: 'labels' must be {len(data)} integers, got {labels.shape}")
    bad = labels[(labels < 0) | (labels > 9)]
    if len(bad):
        raise TrainError(f"{path}: labels must be 0-9 (CIFAR-10 classes), found {bad[0]}")
    return data, labels.astype(np.int64)


def category_images(
    folder: Path, names: tuple[str, ...], category: int, digests: dict[str, str]
) -> np.ndarray:
    """uint8 (N, 3, 32, 32) images of one category from the named batches, in file order."""
    picked = []
    for name in names:
        data, labels = read_batch(folder / name, digests)
        picked.append(data[labels == category])
    images = np.concatenate(picked).reshape(-1, 3, 32, 32)  # rows are R plane, G plane, B plane
    if len(images) == 0:
        raise TrainError(f"no images of category {category} in {', '.join(names)} ({folder})")
    return images
