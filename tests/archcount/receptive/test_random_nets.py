"""Random small nets (hypothesis): the computed field equals the gradient's support."""

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from archcount.receptive.run import receptive_fields

C = 2  # channels everywhere: fields do not depend on them


class Residual(nn.Module):
    """x + body(x): both paths united."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class Concat(nn.Module):
    """mix(cat(x, body(x))): the UNet skip, followed by a 1×1 conv."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body, self.mix = body, nn.Conv2d(2 * C, C, 1)

    def forward(self, x):
        return self.mix(torch.cat((x, self.body(x)), dim=1))


def pair(a):
    return st.tuples(a, a)


LAYERS = st.one_of(
    st.builds(
        lambda k, s, d, p: nn.Conv2d(C, C, k, s, tuple(min(x, y - 1) for x, y in zip(p, k)), d),
        pair(st.integers(1, 4)), pair(st.integers(1, 3)), pair(st.integers(1, 3)),
        pair(st.integers(0, 2)),
    ),
    st.builds(
        lambda k, s, p: nn.ConvTranspose2d(C, C, k, s, min(p, k - 1), output_padding=s - 1),
        st.integers(1, 4), st.integers(1, 3), st.integers(0, 1),
    ),
    st.builds(
        lambda k, s, p, d: nn.MaxPool2d(k, s, min(p, k // 2), d),
        st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 2),
    ),
    st.builds(lambda k, s, p: nn.AvgPool2d(k, s, min(p, k // 2)),
              st.integers(1, 3), st.integers(1, 3), st.integers(0, 1)),
    st.builds(lambda f: nn.Upsample(scale_factor=f), st.integers(2, 3)),
    st.just(nn.Upsample(scale_factor=2, mode="bilinear")),
    st.builds(nn.ReLU),
    st.builds(nn.BatchNorm2d, st.just(C)),
    st.builds(lambda pad: nn.ZeroPad2d(pad), st.tuples(*[st.integers(0, 2)] * 4)),
)  # fmt: skip
# A branch keeps the size: a dilated "same" conv, or down by a strided conv and up again.
BRANCHES = st.one_of(
    st.builds(lambda k, d: nn.Conv2d(C, C, 2 * k + 1, padding=d * k, dilation=d),
              st.integers(0, 2), st.integers(1, 3)),
    st.builds(lambda k: nn.Sequential(nn.Conv2d(C, C, 2 * k + 1, 2, k),
                                      nn.Upsample(scale_factor=2)), st.integers(0, 2)),
    st.builds(lambda k: nn.Sequential(nn.Conv2d(C, C, 2 * k + 1, 2, k),
                                      nn.ConvTranspose2d(C, C, 4, 2, 1)), st.integers(1, 2)),
)  # fmt: skip
BLOCKS = st.one_of(LAYERS, LAYERS, st.builds(Residual, BRANCHES), st.builds(Concat, BRANCHES))
NETS = st.lists(BLOCKS, min_size=1, max_size=4).map(
    lambda xs: nn.Sequential(nn.Conv2d(1, C, 1), *xs)
)


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(NETS)
def test_random_net(gradient_agrees, net):
    """Conv, transposed conv, pools, upsampling, dilation, padding, residuals, concatenation."""
    size = (1, 1, 48, 48)
    try:
        with torch.no_grad():
            out = net.eval()(torch.ones(size))
    except RuntimeError:  # the map shrank to nothing
        assume(False)
    assume(min(out.shape[2:]) >= 6 and out.numel() <= 2 * 200**2)
    field = receptive_fields(net, size).output
    assume(all(d.largest + 4 * d.period < 40 for d in field))  # one centre period fits
    gradient_agrees(lambda: net, size, field)


def test_dilation_leaves_holes(gradient_agrees):
    """A dilated conv reads k positions spread over d(k−1)+1: the field has holes."""
    net = nn.Sequential(nn.Conv2d(1, 1, 3, dilation=(2, 3)))
    (h, w) = receptive_fields(net, (1, 1, 20, 20)).output
    assert (h.largest, w.largest) == (5, 7)
    assert sorted(h.field.reads[0]) == [0, 2, 4]
    gradient_agrees(lambda: net, (1, 1, 20, 20), (h, w))


@pytest.mark.parametrize("k, stride, want", [(3, 2, (2, 1)), (4, 3, (2, 1, 1)), (4, 2, (2, 2))])
def test_transposed_stride_varies_by_position(k, stride, want):
    """ConvTranspose: output o reads the inputs i with o = i·s − p + t, t < k."""
    net = nn.ConvTranspose2d(1, 1, k, stride)
    (h, _) = receptive_fields(net, (1, 1, 9, 9)).output
    assert (h.period, h.shift) == (stride, 1)
    assert tuple(len(r) for r in h.field.reads) == want
