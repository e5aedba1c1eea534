"""The homework nets' receptive fields: the gradient route, the measured values, closed forms."""

import pytest

from archcount.receptive.run import receptive_fields
from models import ConvTransposeNet, PoolUpsampleNet, UNet

NETS = {"PoolUpsampleNet": PoolUpsampleNet, "ConvTransposeNet": ConvTransposeNet, "UNet": UNet}


def small(cls, k):
    """The net at kernel k with one or two channels per layer (fields ignore channels)."""
    return cls(kernel=k, num_filters=1, num_colours=1, num_in_channels=1)


def fields(cls, k, size):
    return receptive_fields(small(cls, k), size)


@pytest.mark.parametrize("k", range(2, 10))
@pytest.mark.parametrize("net", NETS)
def test_gradient_support(net, k, gradient_agrees):
    """Every position of one period at the centre: the gradient's support is the field."""
    cls = NETS[net]
    out = fields(cls, k, (1, 1, 32, 32)).output[0]
    side = 4 * ((out.largest + 4 * out.period + 11) // 4)  # room around one centre period
    size = (1, 1, side, side)
    gradient_agrees(lambda: small(cls, k), size, fields(cls, k, size).output)


def test_measured_pool_upsample():
    """The issue's measurement: 26 and 22 at k=3, 44 everywhere at k=5."""
    at3 = fields(PoolUpsampleNet, 3, (1, 1, 32, 32)).output
    at5 = fields(PoolUpsampleNet, 5, (1, 1, 32, 32)).output
    assert [(d.largest, d.smallest) for d in at3] == [(26, 22)] * 2
    assert [(d.largest, d.smallest) for d in at5] == [(44, 44)] * 2
