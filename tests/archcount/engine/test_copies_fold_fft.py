"""Ops that gave unknown rows (issue 20): reflect/replicate/circular padding, nn.Unfold,
nonzero and packing are copies; nn.Fold sums columns in; a DFT is a dense linear map. Each
count is checked by brute force: the nonzero entries of PyTorch's Jacobian."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archcount


class Fn(nn.Module):
    """A model whose forward is one function."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def jacobian(fn, shape, complex_in: bool = False) -> torch.Tensor:
    """d out / d in on a random float64 input as (output unit, input unit): True where some
    real or imaginary part of the output depends on some part of the input unit."""
    x = torch.rand(*shape, 2 if complex_in else 1, dtype=torch.float64)

    def real(v):
        out = fn(torch.view_as_complex(v) if complex_in else v[..., 0])
        return torch.view_as_real(out) if out.is_complex() else out.unsqueeze(-1)

    out = real(x)
    j = torch.autograd.functional.jacobian(real, x).reshape(
        out[..., 0].numel(), out.shape[-1], x[..., 0].numel(), x.shape[-1]
    )
    return (j.abs() > 1e-9).any(3).any(1)


def links(fn, shape, complex_in: bool = False) -> int:
    """Brute force: (output, input) unit pairs where the output depends on the input."""
    return int(jacobian(fn, shape, complex_in).sum())


COPIES = {
    "reflect": (lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"), (1, 2, 4, 5)),
    "replicate": (lambda x: F.pad(x, (1, 2), mode="replicate"), (1, 2, 4)),
    "circular": (lambda x: F.pad(x, (1, 1, 1, 1), mode="circular"), (1, 2, 4, 4)),
    "replicate3d": (lambda x: F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate"), (1, 1, 3, 3, 3)),
    "unfold": (nn.Unfold(3, padding=1, stride=2), (1, 2, 5, 5)),
}


@pytest.mark.parametrize("name", COPIES)
def test_padding_modes_and_unfold_are_copies(name):
    fn, shape = COPIES[name]
    assert (
        int(jacobian(fn, shape).sum(1).max()) == 1
    )  # brute force: every output is one input unit, copied
    r = archcount.count(Fn(fn), shape)
    assert (r.totals.unknown, r.totals.connections, r.totals.outputs, r.warnings) == ((), 0, 0, ())


@pytest.mark.parametrize(
    ("size", "kernel", "kwargs"),
    [((4, 4), 2, {"stride": 2}), ((5, 5), 3, {"padding": 1, "stride": 2}), ((6, 5), (2, 3), {})],
)
def test_fold_sums_each_column_entry_in_once(size, kernel, kwargs):
    fold = nn.Fold(size, kernel, **kwargs)
    unfolded = nn.Unfold(kernel, **kwargs)(torch.zeros(1, 2, *size)).shape  # its columns
    r = archcount.count(fold, unfolded)
    assert r.totals.unknown == ()
    assert r.totals.connections == unfolded.numel()  # nominal: every column entry (hand)
    assert r.totals.connections_exact == links(fold, unfolded)  # those landing on the output


@pytest.mark.parametrize(
    ("fn", "shape", "complex_in"),
    [
        (torch.fft.fft, (2, 8), False),
        (torch.fft.rfft, (2, 8), False),
        (torch.fft.irfft, (2, 5), True),
        (lambda x: torch.fft.fftn(x, dim=(1, 2)), (1, 4, 6, 3), False),  # FNet's mixing
        (torch.fft.rfft2, (1, 4, 6), False),
        (torch.fft.ifft, (1, 6), True),
    ],
)
def test_a_dft_reads_every_input_along_its_dims(fn, shape, complex_in):
    x = torch.zeros(shape, dtype=torch.complex64 if complex_in else torch.float32)
    r = archcount.count(Fn(fn), example_input=x)
    assert r.totals.unknown == () and r.warnings == ()
    assert r.totals.connections * shape[0] == links(fn, shape, complex_in)  # per example


def test_nonzero_is_an_index_read_not_unknown():
    r = archcount.count(Fn(lambda x: x.nonzero()), example_input=torch.tensor([[0.0, 1.0, 2.0]]))
    assert (r.totals.unknown, r.totals.connections, r.warnings) == ((), 0, ())
