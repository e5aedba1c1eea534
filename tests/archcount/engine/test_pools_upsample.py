"""Pool dims bound to the registered type, and every nn.Upsample mode, each by two routes."""

from math import prod

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archcount


def connections(model, shape):
    return archcount.count(model, shape).totals.connections


def jacobian_links(fn, shape) -> int:
    """Brute force: the nonzero entries of d out / d in on a random input (PyTorch's arithmetic)."""
    x = torch.rand(shape, dtype=torch.float64)
    return int((torch.autograd.functional.jacobian(fn, x) != 0).sum())


class MyPool(nn.MaxPool2d):
    pass


class MyAdaptive(nn.AdaptiveAvgPool2d):
    pass


def test_maxpool2d_subclass_counts_as_maxpool2d():
    # 48 outputs (3 x 4 x 4) read a 2 x 2 window each; avg_pool2d reads the same windows
    assert connections(MyPool(2), (1, 3, 8, 8)) == 192
    assert jacobian_links(lambda x: F.avg_pool2d(x, 2), (1, 3, 8, 8)) == 192


def test_adaptive_avgpool2d_subclass_counts_its_actual_windows():
    # 5 -> 3 rows: windows 2, 3, 2; 4 -> 1 columns: 4; 7 * 4 = 28
    assert connections(MyAdaptive((3, 1)), (1, 1, 5, 4)) == 28
    assert jacobian_links(nn.AdaptiveAvgPool2d((3, 1)), (1, 1, 5, 4)) == 28


SUBCLASSED = [  # pool type, its arguments, input shape
    (nn.MaxPool1d, (3, 2), (1, 2, 9)),
    (nn.MaxPool3d, (2,), (1, 1, 4, 4, 4)),
    (nn.AvgPool1d, (2,), (1, 2, 6)),
    (nn.AvgPool2d, (3, 2, 1), (1, 2, 7, 7)),
    (nn.AvgPool3d, (2,), (1, 1, 4, 4, 4)),
    (nn.LPPool2d, (2, 2), (1, 2, 6, 6)),
    (nn.AdaptiveAvgPool1d, (3,), (1, 2, 5)),
    (nn.AdaptiveMaxPool2d, ((2, 3),), (1, 1, 5, 7)),
    (nn.AdaptiveAvgPool3d, ((2, 1, 3),), (1, 1, 3, 4, 5)),
]
IDS = [c.__name__ for c, *_ in SUBCLASSED]


@pytest.mark.parametrize(("cls", "args", "shape"), SUBCLASSED, ids=IDS)
def test_every_pool_subclass_counts_as_its_base(cls, args, shape):
    custom = type("Custom", (cls,), {})  # a name without the base's digit
    a = archcount.count(custom(*args), shape).layers[0]
    b = archcount.count(cls(*args), shape).layers[0]
    assert (a.connections, a.connections_exact) == (b.connections, b.connections_exact)


def _avg_twin(m):
    """The average pool reading the same windows as max/LP pool `m` (its Jacobian is dense)."""
    if isinstance(m, nn.AdaptiveMaxPool2d):
        return nn.AdaptiveAvgPool2d(m.output_size)
    if isinstance(m, nn.MaxPool1d):
        return nn.AvgPool1d(m.kernel_size, m.stride)
    if isinstance(m, nn.MaxPool3d):
        return nn.AvgPool3d(m.kernel_size, m.stride)
    if isinstance(m, nn.LPPool2d):
        return nn.AvgPool2d(m.kernel_size, m.stride)
    return m


@pytest.mark.parametrize(("cls", "args", "shape"), SUBCLASSED, ids=IDS)
def test_pool_exact_taps_match_the_jacobian(cls, args, shape):
    # avg_pool2d with padding=1 reads the zero pad too: the Jacobian sees only real inputs
    base = cls(*args)
    exact = archcount.count(base, shape).totals.connections_exact
    assert exact == jacobian_links(_avg_twin(base), shape)


INTERP = [  # mode, input shape, taps per output (nominal)
    ("nearest", (1, 2, 3, 3), 1),
    ("nearest", (1, 2, 5), 1),
    ("nearest-exact", (1, 2, 3, 3), 1),
    ("linear", (1, 2, 5), 2),
    ("bilinear", (1, 2, 3, 3), 4),
    ("bicubic", (1, 2, 3, 3), 16),
    ("trilinear", (1, 1, 2, 2, 2), 8),
]


@pytest.mark.parametrize(("mode", "shape", "taps"), INTERP)
@pytest.mark.parametrize("align", [False, True])
def test_upsample_module_modes_by_hand(mode, shape, taps, align):
    align = align if mode in ("linear", "bilinear", "bicubic", "trilinear") else None
    m = nn.Upsample(scale_factor=2, mode=mode, align_corners=align)
    out = F.interpolate(torch.zeros(shape), scale_factor=2, mode=mode, align_corners=align)
    (row,) = archcount.count(m, shape).layers
    assert (row.outputs, row.connections) == (out.numel(), out.numel() * taps)


AREA = [
    ((1, 2, 5, 7), (3, 5), nn.AdaptiveAvgPool2d),  # shrink
    ((1, 2, 3, 3), (6, 7), nn.AdaptiveAvgPool2d),  # grow
    ((1, 2, 5), (3,), nn.AdaptiveAvgPool1d),
    ((1, 1, 3, 4, 5), (2, 5, 3), nn.AdaptiveAvgPool3d),
]


@pytest.mark.parametrize(("shape", "size", "pool"), AREA)
def test_upsample_area_is_adaptive_average_pooling(shape, size, pool):
    ours = connections(nn.Upsample(size=size, mode="area"), shape)
    assert ours == connections(pool(size), shape)
    assert ours == jacobian_links(lambda x: F.interpolate(x, size=size, mode="area"), shape)


def test_upsample_subclass_with_a_mode_it_cannot_count_is_unknown_not_an_error():
    class Odd(nn.Upsample):
        def forward(self, x):
            return F.interpolate(x, scale_factor=2)

    m = Odd(scale_factor=2)
    m.mode = "lanczos"  # no rule knows it: the built-in rule's KeyError becomes "unknown"
    r = archcount.count(m, (1, 1, 3, 3))
    assert r.layers[0].connections is None and r.layers[0].outputs == 36
    assert r.totals.unknown == ("Odd",)
    (w,) = r.warnings
    assert "Odd (Odd)" in w and "KeyError" in w and "\n" not in w


def test_op_level_area_matches_module_count():
    class Area(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Identity()

        def forward(self, x):
            return F.interpolate(self.pre(x), size=(3, 5), mode="area")

    f = archcount.record(archcount.prepare(Area(), (1, 2, 5, 7))).functional()
    assert f.connections == connections(nn.AdaptiveAvgPool2d((3, 5)), (1, 2, 5, 7))
    assert prod((2, 3, 5)) == f.outputs
