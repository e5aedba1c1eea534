"""RNN, LSTM, GRU and their cells: hand-derived counts, and FlopCounterMode on meta.

FlopCounterMode on meta sees the recurrent ops decomposed into one addmm/mm per gate matrix
and step (on CPU the LSTM is one mkldnn kernel it counts as 0), so half its FLOPs is the
number of weight multiply-adds: an independent route to our connections.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.flop_counter import FlopCounterMode

import archcount
from archcount.engine.rules import RULES
from archcount.engine.rules.recurrent import rnn_batch, rnn_outputs
from archcount.engine.walk import prepare
from archcount.recording import record


def test_lstm_two_layers_bidirectional_by_hand():
    """LSTM(10, 20, num_layers=2, bidirectional=True) on one sequence of T = 7.

    Per direction (G = 4 gates, H = 20, no projection so P = H = 20):
      layer 0, I = 10:      W_ih 4H·I = 800, W_hh 4H·H = 1600, b_ih + b_hh 2·4H = 160 → 2560
      layer 1, I = 2H = 40: W_ih 4H·I = 3200, W_hh 1600, biases 160                  → 4960
      weights = 2·(2560 + 4960) = 15,040
    Connections per step: every gate unit reads I inputs and H state units, 4H·(I + H):
      layer 0: 80·30 = 2400, layer 1: 80·60 = 4800; two directions, 7 steps:
      connections = 7·2·(2400 + 4800) = 100,800
    """
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
    (r,) = archcount.count(lstm, (1, 7, 10)).layers
    assert r.weights == 15_040 == sum(p.numel() for p in lstm.parameters())
    assert (r.connections, r.connections_exact) == (100_800, 100_800)


def test_lstm_leaving_biases_out_drops_every_layer_and_direction():
    """--ignore-bias: 15,040 − 2 layers · 2 directions · 160 bias elements = 14,400."""
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
    report = archcount.count(lstm, (1, 7, 10), include_bias=False)
    assert report.totals.weights == 14_400


def _flop_macs(model, *args) -> int:
    """FlopCounterMode's multiply-adds (FLOPs / 2) of one forward on meta."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*args)
    return counter.get_total_flops() // 2


def _rule_connections(module, *args) -> int:
    """Our rule on the shapes the hooks see, whole batch (no per-example division)."""
    (call,) = record(prepare(module, example_input=args)).calls
    return RULES.lookup(type(module)).fn(module, call.inputs, call.outputs)


RECURRENT = [
    (nn.LSTM, dict(num_layers=2, bidirectional=True)),
    (nn.LSTM, dict(proj_size=5)),
    (nn.LSTM, dict(num_layers=3, proj_size=7, bidirectional=True, batch_first=True)),
    (nn.GRU, dict(num_layers=2)),
    (nn.GRU, dict(bidirectional=True, batch_first=True, bias=False)),
    (nn.RNN, dict(num_layers=2, nonlinearity="relu")),
    (nn.RNN, dict(bidirectional=True)),
]


@pytest.mark.parametrize(("cls", "kw"), RECURRENT)
def test_recurrent_connections_equal_flopcounter_macs(cls, kw):
    """T = 7, N = 3, batch first or not: our taps == FlopCounterMode's addmm/mm MACs."""
    m = cls(10, 20, **kw).to("meta")
    x = torch.zeros((3, 7, 10) if m.batch_first else (7, 3, 10), device="meta")
    assert _rule_connections(m, x) == _flop_macs(m, x) > 0
    assert rnn_batch(m, ((3, 7, 10) if m.batch_first else (7, 3, 10),)) == 3


@pytest.mark.parametrize("cls", [nn.LSTMCell, nn.GRUCell, nn.RNNCell])
@pytest.mark.parametrize("shape", [(3, 10), (10,)])
def test_cells_equal_flopcounter_and_gate_equations(cls, shape):
    """One step: G·H·(I + H) per example, G = 4/3/1 from the gate equations; unbatched too."""
    m = cls(10, 20).to("meta")
    x = torch.zeros(shape, device="meta")
    gates = {nn.LSTMCell: 4, nn.GRUCell: 3, nn.RNNCell: 1}[cls]
    examples = shape[0] if len(shape) == 2 else 1
    assert _rule_connections(m, x) == _flop_macs(m, x) == examples * gates * 20 * 30
    assert rnn_batch(m, (shape,)) == examples
    assert rnn_outputs(m, (shape,), ()) == examples * 20


class Packed(nn.Module):
    """An LSTM on padded sequences packed by their real lengths."""

    def __init__(self, **kw):
        super().__init__()
        self.rnn = nn.LSTM(10, 20, batch_first=True, **kw)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return self.rnn(packed)[0].data


@pytest.mark.parametrize("kw", [{}, dict(num_layers=2, bidirectional=True, proj_size=4)])
def test_packed_sequences_count_real_lengths(kw):
    """Lengths 2, 7, 4 of a padded 3×7 batch: 13 real steps, not 21."""
    model = Packed(**kw).to("meta")
    x, lengths = torch.zeros(3, 7, 10, device="meta"), torch.tensor([2, 7, 4])
    m = model.rnn
    state = m.proj_size or m.hidden_size
    d = 2 if m.bidirectional else 1
    ins = [10] + [d * state] * (m.num_layers - 1)
    per_step = sum(4 * 20 * (i + state) + m.proj_size * 20 for i in ins)
    (call,) = [c for c in record(prepare(model, example_input=(x, lengths))).calls if c.module is m]
    assert RULES.lookup(nn.LSTM).fn(m, call.inputs, call.outputs) == 13 * d * per_step
    assert _flop_macs(model, x, lengths) == 13 * d * per_step
    assert rnn_batch(m, call.inputs) == 3
    assert rnn_outputs(m, call.inputs, call.outputs) == 13 * m.num_layers * d * state
