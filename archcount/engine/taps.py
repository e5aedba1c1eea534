"""Per-dimension tap arithmetic shared by the convolution and pooling rules."""

from __future__ import annotations

from math import prod


def hits(positions: int, target: int, kernel: int, stride: int, offset: int, dilation: int) -> int:
    """#{(i, j): 0 <= i < positions, 0 <= j < kernel, 0 <= i*stride - offset + j*dilation < target}.

    Conv: positions = output size, target = input size (taps that land on real input).
    Transposed conv: positions = input size, target = output size (taps not cropped).
    """
    total = 0
    for j in range(kernel):
        shift = j * dilation - offset  # i*stride + shift must lie in [0, target)
        lo = max(0, _ceil_div(-shift, stride))
        hi = min(positions - 1, (target - 1 - shift) // stride)
        total += max(0, hi - lo + 1)
    return total


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def adaptive_window_sum(in_size: int, out_size: int) -> int:
    """Sum over i < out of the adaptive window size ceil((i+1)*in/out) - floor(i*in/out)."""
    return sum(
        _ceil_div((i + 1) * in_size, out_size) - (i * in_size) // out_size for i in range(out_size)
    )


def adaptive_taps(x: tuple[int, ...], y: tuple[int, ...], dims: int) -> int:
    """Taps of an adaptive pool x -> y: leading sizes * prod over dims of the window sums."""
    per = [adaptive_window_sum(i, o) for i, o in zip(spatial(x, dims), spatial(y, dims))]
    return prod(y) // prod(spatial(y, dims)) * prod(per)


# Input units read per output by each interpolation mode (area is an adaptive average pool).
INTERP_TAPS = {
    "nearest": 1,
    "nearest-exact": 1,
    "linear": 2,
    "bilinear": 4,
    "bicubic": 16,
    "trilinear": 8,
}


def per_dim(value, dims: int) -> tuple[int, ...]:
    """An int or a tuple option (kernel, stride, …) spread over `dims` spatial dimensions."""
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(value)
    return value * dims if len(value) == 1 else value


def spatial(shape: tuple[int, ...], dims: int) -> tuple[int, ...]:
    """The last `dims` sizes of a shape (the spatial ones)."""
    return tuple(shape[len(shape) - dims :])


def leading(shape: tuple[int, ...], dims: int) -> int:
    """Product of the sizes before channel and spatial dims (the batch, 1 when unbatched)."""
    return prod(shape[: len(shape) - dims - 1])
