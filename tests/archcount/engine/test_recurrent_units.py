"""Recurrent rows per example and in units: the batch from the module, the hidden states."""

import torch
from torch import nn

import archcount


def test_lstm_units_are_the_hidden_states_of_every_step_layer_and_direction():
    """LSTM(10, 20, num_layers=2, bidirectional=True), T = 7: 7 steps · 2 layers · 2 directions
    · H = 20 hidden states = 560 units (not output 7·40 + h_n 4·20 + c_n 4·20 = 440)."""
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
    (r,) = archcount.count(lstm, (1, 7, 10)).layers
    assert r.outputs == 560


def test_batch_taken_from_the_module_not_the_first_dim():
    """batch_first=False: input (T=7, N=3, 10); per example the LSTM of the hand test:
    connections 100,800 and 560 units, whatever N."""
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    for n in (1, 3):
        report = archcount.count(lstm, example_input=torch.zeros(7, n, 10))
        assert (report.totals.connections, report.totals.outputs) == (100_800, 560)
        assert not report.warnings
