"""SPEC.md's seed truths: PoolUpsampleNet's closed forms against the hooks."""

import itertools

import pytest
import torch

import archcount
from models import ConvTransposeNet, PoolUpsampleNet


def seed_truth(nic, nf, nc, k):
    """SPEC.md, PoolUpsampleNet at 32x32, `units`, nominal."""
    weights = k**2 * (nic * nf + 4 * nf**2 + nf * nc + nc**2) + 12 * nf + 4 * nc
    outputs = 2880 * nf + 3328 * nc
    connections = k**2 * (1024 * nic * nf + 640 * nf**2 + 256 * nf * nc + 1024 * nc**2)
    return weights, outputs, connections + 2432 * nf + 2048 * nc


def meta_count(cls, size, **kw):
    with torch.device("meta"):
        model = cls(**kw)
    return archcount.count(model, (1, kw.get("num_in_channels", 1), size, size))


GRID = list(itertools.product([1, 3], [1, 8, 32], [2, 24], [1, 3, 5, 7]))


@pytest.mark.parametrize(("nic", "nf", "nc", "k"), GRID)
def test_pool_upsample_matches_spec_formulas(nic, nf, nc, k):
    r = meta_count(
        PoolUpsampleNet, 32, kernel=k, num_filters=nf, num_colours=nc, num_in_channels=nic
    )
    t = r.totals
    assert (t.weights, t.outputs, t.connections) == seed_truth(nic, nf, nc, k)


@pytest.mark.parametrize(("nic", "nf", "nc", "k"), GRID[::5])
def test_doubling_width_and_height(nic, nf, nc, k):
    kw = {"kernel": k, "num_filters": nf, "num_colours": nc, "num_in_channels": nic}
    small, big = (
        meta_count(PoolUpsampleNet, 32, **kw).totals,
        meta_count(PoolUpsampleNet, 64, **kw).totals,
    )
    assert big.weights == small.weights
    assert big.outputs == 4 * small.outputs
    assert big.connections == 4 * small.connections


def test_issue_acceptance_numbers():
    t = meta_count(PoolUpsampleNet, 64, num_in_channels=3, num_filters=32).totals
    assert (t.weights, t.outputs, t.connections) == (50_304, 688_128, 55_951_360)


def test_conv_transpose_net_by_hand():
    """k=3, NIC=1, NF=2, NC=3, 32x32, worked out layer by layer from SPEC's table."""
    t = meta_count(ConvTransposeNet, 32, num_filters=2, num_colours=3).totals
    # conv1 1->2 s2: 16x16x2 outputs, 9 taps each; BN; conv2 2->4: 8x8x4, 18 taps;
    # convT 4->2: each of 8*8*4 inputs feeds 2*9; convT 2->3: 16*16*2 inputs feed 3*9; conv5.
    conns = 512 * 9 + 512 + 256 * 18 + 256 + 256 * 18 + 512 + 512 * 27 + 3072 + 3072 * 27
    outs = 512 + 512 + 256 + 256 + 512 + 512 + 3072 + 3072 + 3072
    weights = (18 + 2) + 4 + (72 + 4) + 8 + (72 + 2) + 4 + (54 + 3) + 6 + (81 + 3)
    assert (t.weights, t.outputs, t.connections) == (weights, outs, conns)
