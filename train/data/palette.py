"""Colour palettes: load and validate one, fit one by k-means, and quantise pixels to it.

Scale: palettes hold RGB in [0, 1]; pixels are compared as uint8 / 256, the same scale the
homework's starter code uses for both its grayscale input and its colour targets, so our
targets match the ones its published figures were measured on (the difference from /255 is
at most 1/256 per channel).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import torch

from archcount.files import WriteError, write_atomic
from train.errors import TrainError

PIXEL_SCALE = 256.0
# The nets predict one channel per colour and quantising holds a (pixels, K) float64 table per
# chunk: 256 colours (a byte's worth, GIF's limit) is ten times the homework's 24, and past it
# a palette is a mistake (a 4,096-colour one costs 512 MB a chunk and a 4,096-channel output).
MAX_COLOURS = 256
# .npy format version -> its header reader (3.0 differs only by UTF-8 field names, never ours)
_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def validate_palette(palette: np.ndarray, source: str = "palette") -> np.ndarray:
    """Return the palette as float64 (K, 3) with K >= 2 and values in [0, 1], else TrainError."""
    arr = np.asarray(palette)
    _check_shape(arr.shape, source)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TrainError(f"{source}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
        raise TrainError(f"{source}: colours must be RGB values in [0, 1]")
    _, first, counts = np.unique(arr, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():  # a repeat can never be a target: ties go to the lower index
        i = int(first[counts > 1].min())
        j = int(next(k for k in range(i + 1, len(arr)) if np.array_equal(arr[k], arr[i])))
        raise TrainError(f"{source}: colours {i} and {j} are the same {arr[i].tolist()}")
    return arr


def _check_shape(shape: tuple, source: str) -> None:
    """TrainError unless shape is (K, 3) with 2 <= K <= MAX_COLOURS."""
    if len(shape) != 2 or shape[1] != 3 or shape[0] < 2:
        raise TrainError(f"{source}: expected shape (K, 3) with K >= 2, got {shape}")
    if shape[0] > MAX_COLOURS:
        raise TrainError(f"{source}: {shape[0]:,} colours, more than the {MAX_COLOURS} allowed")


def load_palette(path: str | Path) -> np.ndarray:
    """Read a (K, 3) RGB palette in [0, 1] from a plain .npy file (no pickle); the header's
    shape is checked before any data is read, so a header claiming 10^12 rows allocates nothing."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"palette file not found: {path}")
    source = f"palette {path}"
    try:
        with open(path, "rb") as fh:
            shape, _, dtype = _HEADERS[np.lib.format.read_magic(fh)](fh)
            if dtype.hasobject:  # refused before np.load could even think of unpickling
                raise TrainError(f"{source}: not a plain .npy array (it holds Python objects)")
            _check_shape(shape, source)
            arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, KeyError) as exc:  # KeyError: a .npy version we do not read
        raise TrainError(f"{source}: not a plain .npy array ({exc})") from exc
    return validate_palette(arr, source=source)


def quantise(rgb: np.ndarray, palette: np.ndarray, chunk: int = 1 << 14) -> torch.Tensor:
    """Index (N, H, W) int64 of the nearest palette colour (Euclidean) for uint8 (N, 3, H, W).

    Ties go to the lower index, as np.argmin does in the homework.
    """
    pal = validate_palette(palette)  # float64: no float32 near-ties
    # A channel holds one of 256 levels, so every (level/256 - colour)^2 is a (3, 256, K) table:
    # the distances are sums of three looked-up rows, the same float64 numbers (added in the
    # same order, r + g then + b) as subtracting pixel by pixel, at a sixth of the time.
    levels = np.arange(256, dtype=np.float64) / PIXEL_SCALE
    table = (levels.reshape(1, 256, 1) - pal.T.reshape(3, 1, -1)) ** 2
    n, _, *size = rgb.shape
    planes = np.ascontiguousarray(np.asarray(rgb).transpose(1, 0, 2, 3))
    planes = planes.reshape(3, -1)
    out = np.empty(planes.shape[1], dtype=np.int64)
    for start in range(0, planes.shape[1], chunk):
        r, g, b = planes[:, start : start + chunk]
        dist = table[0][r] + table[1][g]  # (pixels, K)
        dist += table[2][b]
        out[start : start + chunk] = dist.argmin(axis=1)
    return torch.from_numpy(out.reshape(n, *size))


def kmeans_palette(rgb: np.ndarray, k: int, seed: int, iters: int = 30) -> np.ndarray:
    """K-means centroids (k, 3) in [0, 1] of the pixels of uint8 (N, 3, H, W); seeded k-means++."""
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.as_tensor(rgb, dtype=torch.float64).permute(0, 2, 3, 1).reshape(-1, 3)
    pixels = pixels / PIXEL_SCALE
    # A fixed subsample keeps fitting to seconds on the full set; 200k pixels pin 24 means well.
    if len(pixels) > 200_000:
        pixels = pixels[torch.randperm(len(pixels), generator=gen)[:200_000]]
    if len(pixels) < k:
        raise TrainError(f"k-means: {len(pixels)} pixels cannot make {k} colours")
    centres = _kmeans_pp_init(pixels, k, gen)
    for _ in range(iters):
        assign = torch.cdist(pixels, centres).argmin(dim=1)
        for j in range(k):
            members = pixels[assign == j]
            if len(members):  # an empty cluster keeps its centre rather than becoming NaN
                centres[j] = members.mean(dim=0)
    return centres.clamp(0.0, 1.0).numpy()


def _kmeans_pp_init(pixels: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability ~ squared distance."""
    first = torch.randint(len(pixels), (1,), generator=gen)
    centres = [pixels[first[0]]]
    d2 = ((pixels - centres[0]) ** 2).sum(dim=1)
    for _ in range(1, k):
        weights = d2 if d2.sum() > 0 else torch.ones_like(d2)
        idx = torch.multinomial(weights, 1, generator=gen)[0]
        centres.append(pixels[idx])
        d2 = torch.minimum(d2, ((pixels - pixels[idx]) ** 2).sum(dim=1))
    return torch.stack(centres).clone()


def cached_kmeans_palette(
    rgb: np.ndarray, k: int, seed: int, category: int, data_dir: Path, notes: list[str]
) -> np.ndarray:
    """k-means palette cached as .npy beside the data (or in the user cache when read-only)."""
    # The digest ties the cache to these exact pixels, so changed data never reuses a stale palette.
    digest = hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).hexdigest()[:10]
    name = f"colour_kmeans{k}_cat{category}_seed{seed}_{digest}.npy"
    for folder in (data_dir, _user_cache_dir()):
        if (folder / name).is_file():
            notes.append(f"palette: k-means colours read from cache {folder / name}")
            return load_palette(folder / name)
    palette = kmeans_palette(rgb, k, seed)
    for folder in (data_dir, _user_cache_dir()):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not _writable(folder):
                raise PermissionError(folder)
            write_atomic(folder / name, _npy_bytes(palette))
        except (OSError, WriteError):
            notes.append(f"palette: {folder} is not writable, caching elsewhere")
            continue
        notes.append(
            f"palette: fitted {k} colours by k-means (seed {seed}), cached {folder / name}"
        )
        return palette
    notes.append("palette: fitted by k-means but could not cache it anywhere")
    return palette


def _npy_bytes(array: np.ndarray) -> bytes:
    """The bytes np.save writes for array (a plain .npy, no pickle)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _writable(folder: Path) -> bool:
    """Writable for us and not marked read-only (root passes os.access, but honour r-x modes)."""
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def _user_cache_dir() -> Path:
    """$XDG_CACHE_HOME/archcount, else ~/.cache/archcount."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "archcount"
