"""The independent route: the input support of the gradient of one output unit, on CPU."""

from math import lcm

import pytest
import torch
import torch.nn.functional as F
from torch import nn


class WindowSum(nn.Module):
    """A max pool's window with positive weights: the same taps, every one with a gradient."""

    def __init__(self, pool: nn.MaxPool2d):
        super().__init__()
        self.k = nn.modules.utils._pair(pool.kernel_size)
        self.s = nn.modules.utils._pair(pool.stride or pool.kernel_size)
        self.p = nn.modules.utils._pair(pool.padding)
        self.d = nn.modules.utils._pair(pool.dilation)

    def forward(self, x):
        w = torch.ones(x.shape[1], 1, *self.k, dtype=x.dtype) / (self.k[0] * self.k[1])
        return F.conv2d(x, w, None, self.s, self.p, self.d, groups=x.shape[1])


def positive(model: nn.Module) -> nn.Module:
    """A float32 model,-in-place with positive weights and max pools swapped for window sums."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, WindowSum(child))
        else:
            positive(child)
    torch.manual_seed(0)
    for p in model.parameters():
        p.data.uniform_(0.5, 1.5)
        p.requires_grad_(False)  # only the input's gradient is wanted
    return model.float().eval()


def support(model: nn.Module, size: tuple[int, ...], positions) -> list[list[set[int]]]:
    """Per output position (one unit, channel 0): per dim, the input positions with gradient."""
    x = torch.ones((len(positions), *size[1:]), dtype=torch.float32, requires_grad=True)
    y = model(x)
    sum(y[(b, 0, *pos)] for b, pos in enumerate(positions)).backward()
    g = x.grad.abs().sum(1)  # over input channels
    out = []
    for b in range(len(positions)):
        nz = g[b].nonzero()
        out.append([set(nz[:, d].tolist()) for d in range(nz.shape[1])])
    return out


def centre_period(out_shape, fields) -> list[tuple[int, ...]]:
    """Every output position of one period at the centre, in every dim at once.

    The field of a dim does not depend on the position in the others, so (c + i, c + i)
    for i < lcm(periods) meets every residue of every dim.
    """
    spatial = out_shape[2:]
    n = lcm(*(f.period for f in fields))
    return [tuple(s // 2 + i for s in spatial) for i in range(n)]


def agree(model_factory, size, fields) -> None:
    """The gradient support of each centre position equals the computed field, per dim."""
    model = positive(model_factory())
    with torch.no_grad():
        out_shape = model(torch.ones((1, *size[1:]), dtype=torch.float32)).shape
    positions = centre_period(out_shape, fields)
    for pos, got in zip(positions, support(model, size, positions)):
        want = [set(f.field.at(p)) for p, f in zip(pos, fields)]
        if not all(want):  # a unit that reads nothing in one dim reads nothing at all
            assert not any(got), (pos, got)
            continue
        for d, w in enumerate(want):
            inside = all(0 < x < size[2 + d] - 1 for x in w)
            assert inside, f"input {size} too small: the field of {pos} reaches a border"
            assert got[d] == w, (pos, d, sorted(got[d]), sorted(w))


@pytest.fixture(scope="session")
def gradient_agrees():
    """agree(model_factory, input size, computed DimFields of the output)."""
    return agree
