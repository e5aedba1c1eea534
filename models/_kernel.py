"""Paddings that keep the nets' reference shapes at any kernel, solved by archcount.padding."""

import warnings

from archcount import solve_one

# Even kernels use padding='same' on purpose (see conv_padding); PyTorch's note that this may
# copy the input into a zero-padded buffer is expected here, and would only clutter output.
warnings.filterwarnings(
    "ignore", message="Using padding='same' with even kernel lengths", category=UserWarning
)

# The homework's images are 32x32. For strides 1 and 2 the solutions below do not depend on
# the size (as long as it divides by 4), so one reference size serves every input.
REFERENCE_SIZE = 32


class KernelError(ValueError):
    """A kernel size for which a net cannot keep its reference shapes."""


def conv_padding(kernel: int, stride: int, net: str) -> int | str:
    """Padding for n -> n/stride: the smallest symmetric one, else 'same' (stride 1, even k)."""
    _check(kernel, net)
    answer = solve_one("conv", kernel, stride, 1, REFERENCE_SIZE, REFERENCE_SIZE // stride, 1)
    if answer.symmetric:
        return answer.solutions[0].padding
    if answer.solutions and stride == 1:
        # PyTorch's 'same' is exactly the asymmetric pad (extra zero after), and keeps the
        # module structure (no ZeroPad2d leaf), so counts stay comparable across kernels.
        return "same"
    why = answer.reason or "only asymmetric pads would, and padding='same' needs stride 1"
    raise KernelError(
        f"{net}: no padding keeps a stride-{stride} conv's shape at k={kernel}: {why}"
    )


def transposed_padding(kernel: int, stride: int, net: str) -> tuple[int, int]:
    """(padding, output_padding) for n -> n*stride, the smallest symmetric pair."""
    _check(kernel, net)
    size_in = REFERENCE_SIZE // stride
    answer = solve_one("transposed", kernel, stride, 1, size_in, REFERENCE_SIZE, 1)
    if not answer.symmetric:
        why = answer.reason or "only an asymmetric crop would"
        raise KernelError(
            f"{net}: no padding keeps a stride-{stride} transposed conv's shape "
            f"at k={kernel}: {why}"
        )
    best = answer.solutions[0]
    return best.padding, best.output_padding


def _check(kernel: int, net: str) -> None:
    if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1:
        raise KernelError(f"{net}: kernel must be a positive integer, got {kernel!r}")
