"""Paddings the nets use for a kernel size, and the error for a kernel they cannot take."""


class KernelError(ValueError):
    """A kernel size for which a net cannot keep its reference shapes."""


def odd_kernel_padding(kernel: int, net: str) -> int:
    """padding = kernel // 2, which keeps every shape of both nets for odd kernels."""
    if not isinstance(kernel, int) or kernel < 1:
        raise KernelError(f"{net}: kernel must be a positive integer, got {kernel!r}")
    if kernel % 2 == 0:
        raise KernelError(
            f"{net}: kernel {kernel} is even; padding kernel//2 would change the shapes "
            "(a stride-1 conv with an even kernel has no symmetric padding that keeps its size)"
        )
    return kernel // 2
