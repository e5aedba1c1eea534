"""Per example does not depend on the batch (issue 20 item 1): packed recurrent nets, a Linear
split into matmul + bias add at batch > 1, a batch-free table expanded to the batch on a
non-leading dim, and a mixture of experts' routing over the whole batch's tokens. Each is
counted at batches 1, 2 and 3, against hand arithmetic or FlopCounterMode's MACs."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.flop_counter import FlopCounterMode

import archcount

BATCHES = (1, 2, 3)


def totals(model, shape):
    t = archcount.count(model, shape).totals
    return t.weights, t.outputs, t.connections, t.connections_exact, t.unknown


def macs(model, shape) -> int:
    """FlopCounterMode around a real forward: its MACs (flops / 2)."""
    with FlopCounterMode(display=False) as counter:
        model(torch.rand(shape))
    return counter.get_total_flops() // 2


class Packed(nn.Module):
    """pack_padded_sequence (unsorted lengths: they are sorted), a recurrent net, unpacked."""

    def __init__(self, cell, bidirectional: bool):
        super().__init__()
        self.rnn = cell(6, 5, batch_first=True, bidirectional=bidirectional)

    def forward(self, x):
        lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=True)[0]


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("cell", "gates"), [(nn.LSTM, 4), (nn.GRU, 3)])
def test_packed_recurrent_nets_count_the_same_at_any_batch(cell, gates, bidirectional):
    model = Packed(cell, bidirectional)
    counted = [totals(model, (b, 7, 6)) for b in BATCHES]
    assert counted[0] == counted[1] == counted[2]
    dirs = 2 if bidirectional else 1
    r = archcount.count(model, (3, 7, 6))
    (rnn,) = [x for x in r.layers if x.name == "rnn"]
    # by hand: per step and direction, gates·H·(I + H) taps (the docs' recurrent rule)
    assert rnn.connections == 7 * dirs * gates * 5 * (6 + 5)
    assert r.totals.unknown == () and r.warnings == ()


class SplitLinear(nn.Module):
    """F.linear on a transposed 3-D input: addmm at batch 1, mm + bias add at batch > 1."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(5, 6))
        self.bias = nn.Parameter(torch.randn(5))

    def forward(self, x):
        return F.linear(x.transpose(0, 1), self.weight, self.bias)


def test_a_linear_split_into_matmul_and_bias_add_counts_as_the_fused_one():
    model = SplitLinear()
    counted = [totals(model, (b, 4, 6)) for b in BATCHES]
    assert counted[0] == counted[1] == counted[2]
    for b in BATCHES:  # FlopCounterMode's MACs: the product only, a bias is not a connection
        assert macs(model, (b, 4, 6)) == b * counted[0][2] == b * 4 * 5 * 6


class Positions(nn.Module):
    """XLNet: a batch-free (2T, 1, d) table expanded to (2T, B, d), then projected."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.randn(8, 1, 6))
        self.proj = nn.Parameter(torch.randn(6, 4))

    def forward(self, x):  # x: (B, T, d), turned sequence first as XLNet does
        h = x.transpose(0, 1)
        pos = self.table.expand(-1, h.shape[1], -1)
        return torch.einsum("ibh,hd->ibd", pos, self.proj).sum(0) + h.sum(0)[..., :4]


def test_a_table_expanded_to_the_batch_on_a_later_dim_is_per_example():
    model = Positions()
    counted = [totals(model, (b, 4, 6)) for b in BATCHES]
    assert counted[0] == counted[1] == counted[2]
    for b in BATCHES:
        assert macs(model, (b, 4, 6)) == b * 8 * 6 * 4  # the einsum's MACs, per example × b


class Router(nn.Module):
    """Jamba's experts: the whole batch's expert ids flattened, sorted, histogrammed, scanned."""

    def __init__(self, experts: int = 4):
        super().__init__()
        self.gate = nn.Linear(6, experts, bias=False)
        self.experts = experts

    def forward(self, x):
        ids = self.gate(x).argmax(-1).flatten()  # (B·T,)
        order = ids.sort().values
        counts = torch.histc(ids.float(), bins=self.experts, min=0, max=self.experts - 1)
        return order.float().sum() + counts.cumsum(0).sum()


def test_routing_over_the_whole_batch_counts_as_at_batch_one():
    model = Router()
    counted = [totals(model, (b, 5, 6)) for b in BATCHES]
    assert counted[0] == counted[1] == counted[2]
    t = 5  # tokens per example; by hand: the gate 5·4·6, argmax 5·4, sort 5·5, histc 5,
    # cumsum over 4 bins 4·5/2, and the two sums 5 and 4
    assert counted[0][2] == t * 4 * 6 + t * 4 + t * t + t + 4 * 5 // 2 + t + 4


class WholeBatchScale(nn.Module):
    """Nystromformer's pseudo-inverse start: one number for the whole batch, 1 / max(sums)."""

    def forward(self, x):
        return 1 / torch.max(torch.sum(x, dim=-2)) * x


def test_one_number_for_the_whole_batch_is_not_divided_by_it():
    counted = [archcount.count(WholeBatchScale(), (b, 4, 3)) for b in BATCHES]
    assert [r.warnings for r in counted] == [(), (), ()]
    t = [r.totals for r in counted]
    assert t[0] == t[1] == t[2]
    # by hand, per example: sum 4·3 reads, max 3; 1/max and the product by one number are
    # element-wise (as x * 0.5): nothing under `units`
    assert t[0].connections == 12 + 3
