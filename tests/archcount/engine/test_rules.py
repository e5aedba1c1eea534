"""Each built-in rule on hand-derived cases (SPEC.md's table), both conventions."""

import pytest
import torch
from torch import nn

import archcount
from archcount import Convention, Kind


def row(module, shape, convention=Convention.UNITS, dtype=torch.float32):
    """The single row of counting `module` alone on input `shape` (batch first)."""
    x = torch.zeros(shape, dtype=dtype)
    (r,) = archcount.count(module, example_input=x, convention=convention).layers
    return r


CASES = [
    # module, input shape, (weights, outputs, connections nominal) worked out by hand
    (nn.Conv2d(3, 8, 3, padding=1), (2, 3, 10, 10), (8 * 27 + 8, 800, 800 * 27)),
    (nn.Conv2d(4, 6, 3, groups=2, bias=False), (1, 4, 7, 7), (6 * 2 * 9, 6 * 25, 150 * 18)),
    (nn.Conv1d(2, 3, 5, stride=2), (1, 2, 11), (3 * 10 + 3, 3 * 4, 12 * 10)),
    (nn.Conv3d(1, 2, 2), (1, 1, 3, 3, 3), (2 * 8 + 2, 2 * 8, 16 * 8)),
    # transposed: each of 2*4*4 inputs feeds C_out/g * k*k = 3*9 outputs
    (nn.ConvTranspose2d(2, 3, 3, stride=2), (1, 2, 4, 4), (2 * 3 * 9 + 3, 3 * 81, 32 * 27)),
    (nn.ConvTranspose1d(4, 2, 2, stride=2, groups=2), (1, 4, 5), (4 * 1 * 2 + 2, 20, 20 * 2)),
    (nn.Linear(5, 7), (3, 5), (42, 7, 35)),
    (nn.Linear(5, 7), (1, 4, 5), (42, 28, 140)),
    (nn.MaxPool2d(2), (1, 3, 8, 8), (0, 48, 48 * 4)),
    (nn.AvgPool1d(3, stride=1), (1, 2, 6), (0, 8, 24)),
    (nn.MaxPool3d(2), (1, 1, 4, 4, 4), (0, 8, 64)),
    # adaptive 5 -> 3: windows [0,2), [1,4), [3,5) have sizes 2, 3, 2
    (nn.AdaptiveAvgPool1d(3), (1, 2, 5), (0, 6, 2 * 7)),
    (nn.AdaptiveMaxPool2d((3, 1)), (1, 1, 5, 4), (0, 3, 7 * 4)),
    (nn.AdaptiveAvgPool2d(1), (1, 4, 6, 6), (0, 4, 4 * 36)),
    (nn.Upsample(scale_factor=2), (1, 3, 4, 4), (0, 192, 192)),
    (nn.Upsample(scale_factor=2, mode="bilinear"), (1, 3, 4, 4), (0, 192, 192 * 4)),
    (nn.Upsample(scale_factor=2, mode="trilinear"), (1, 1, 2, 2, 2), (0, 64, 64 * 8)),
    (nn.BatchNorm2d(3), (2, 3, 4, 4), (6, 48, 48)),
    (nn.BatchNorm1d(3, affine=False), (2, 3), (0, 3, 3)),
    (nn.GroupNorm(2, 4), (1, 4, 3, 3), (8, 36, 36)),
    (nn.LayerNorm(6), (1, 2, 6), (12, 12, 12)),
    (nn.InstanceNorm2d(3, affine=True), (1, 3, 5, 5), (6, 75, 75)),
]


@pytest.mark.parametrize(("module", "shape", "expected"), CASES, ids=lambda v: str(v)[:40])
def test_rule_by_hand(module, shape, expected):
    r = row(module, shape)
    assert (r.weights, r.outputs, r.connections) == expected


def test_embedding():
    r = row(nn.Embedding(10, 4), (2, 5), dtype=torch.long)
    assert (r.weights, r.outputs, r.connections) == (40, 20, 20)


ELEMENTWISE = [
    nn.ReLU(),
    nn.LeakyReLU(),
    nn.GELU(),
    nn.SiLU(),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.Dropout(0.5),
    nn.Dropout2d(),
    nn.Hardswish(),
]


@pytest.mark.parametrize("module", ELEMENTWISE, ids=lambda m: type(m).__name__)
def test_elementwise_by_convention(module):
    units = row(module, (2, 3, 4, 4))
    modules = row(module, (2, 3, 4, 4), Convention.MODULES)
    assert units.kind is Kind.ELEMENTWISE
    assert (units.outputs, units.connections) == (0, 0)
    assert (modules.outputs, modules.connections) == (48, 48)


@pytest.mark.parametrize(
    "module",
    [nn.Identity(), nn.Flatten(), nn.Unflatten(1, (3, 16))],
    ids=lambda m: type(m).__name__,
)
@pytest.mark.parametrize("convention", list(Convention))
def test_views_add_nothing(module, convention):
    r = row(module, (2, 48), convention)
    assert (r.outputs, r.connections, r.weights) == (0, 0, 0)


def test_softmax_reads_its_whole_slice():
    r = row(nn.Softmax(dim=1), (2, 5), Convention.MODULES)
    assert (r.outputs, r.connections) == (5, 25)


def test_same_and_valid_padding():
    same = row(nn.Conv2d(1, 1, 4, padding="same", bias=False), (1, 1, 6, 6))
    valid = row(nn.Conv2d(1, 1, 4, padding="valid", bias=False), (1, 1, 6, 6))
    assert same.output_shape == (1, 1, 6, 6) and same.connections == 36 * 16
    # 'same' pads 1 before, 2 after. Per dim, output o reads inputs o-1..o+2: real taps are
    # 3, 4, 4, 4, 3, 2 for o = 0..5, i.e. 20 of 24.
    assert same.connections_exact == 20 * 20
    assert valid.output_shape == (1, 1, 3, 3) and valid.connections == valid.connections_exact


def test_circular_padding_reads_real_units():
    r = row(nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular", bias=False), (1, 1, 5))
    assert r.connections == r.connections_exact == 15
