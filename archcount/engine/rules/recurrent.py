"""The recurrent family: nn.RNN, nn.LSTM, nn.GRU and their cells (module rules).

One step of one layer and direction, with G gates (LSTM 4, GRU 3, RNN 1), hidden size H,
state size P (proj_size, else H) and layer input size I (input_size for layer 0, D·P above):
  weights      G·H·I + G·H·P (+ 2·G·H biases) (+ P·H projection W_hr)
  connections  G·H·(I + P) weight taps for the gates (+ P·H for the projection)
  units        P: the hidden state h_t the step emits
The gates' element-wise products and nonlinearities (c_t = f⊙c + i⊙g, h = o⊙tanh(c), GRU's
r⊙, (1−z)⊙) are the units' nonlinearity, as an activation is a Linear's: no connections.
Every layer and direction runs once per real time step of every sequence, so a call costs
(tokens) × Σ_layers D × (step cost), tokens = prod(input.shape[:-1]): T·N padded (batch
first or not), T unbatched, and for a PackedSequence its data's first size, which is the sum
of the real lengths — packed sequences are counted by their real lengths, not the padding.
The initial state (zeros when not given) is an input like any other: exact == nominal.
"""

from __future__ import annotations

from functools import partial
from math import prod

import torch
from torch import nn

from archcount.engine.rules.registry import RULES

# Gates per step of each recurrent family, bound to the type at registration.
_GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1, nn.LSTMCell: 4, nn.GRUCell: 3, nn.RNNCell: 1}


def _tokens(ins) -> int:
    """Positions the first layer runs on: every size of the input but the feature size."""
    return prod(ins[0][:-1])


def _layer_inputs(m: nn.RNNBase) -> list[int]:
    """I of every layer: input_size, then the state size of both directions below."""
    d = 2 if m.bidirectional else 1
    state = m.proj_size or m.hidden_size
    return [m.input_size] + [d * state] * (m.num_layers - 1)


def rnn(m: nn.RNNBase, ins, outs, *, gates: int):
    """tokens · D · Σ_layers (G·H·(I_l + P) + [proj] P·H)."""
    h, state = m.hidden_size, m.proj_size or m.hidden_size
    d = 2 if m.bidirectional else 1
    projection = m.proj_size * h  # 0 without proj_size
    per_token = sum(gates * h * (i + state) + projection for i in _layer_inputs(m))
    return _tokens(ins) * d * per_token


def cell(m: nn.RNNCellBase, ins, outs, *, gates: int):
    """tokens · G·H·(input_size + H): one step of one layer."""
    return _tokens(ins) * gates * m.hidden_size * (m.input_size + m.hidden_size)


def rnn_outputs(m: nn.Module, ins, outs) -> int:
    """Units: the hidden states of every step, layer and direction (tokens · L·D·P)."""
    if isinstance(m, nn.RNNCellBase):
        return _tokens(ins) * m.hidden_size
    d = 2 if m.bidirectional else 1
    return _tokens(ins) * m.num_layers * d * (m.proj_size or m.hidden_size)


def rnn_batch(m: nn.Module, ins) -> int:
    """The batch of a call: from dim 1 unless batch_first, 1 unbatched; packed: the indices."""
    x = ins[0]
    if isinstance(m, nn.RNNCellBase):
        return x[0] if len(x) == 2 else 1
    if len(x) == 3:
        return x[0] if m.batch_first else x[1]
    if len(ins) > 2 and len(ins[1]) == 1:  # packed: (data, batch_sizes, sorted, unsorted)
        return ins[2][0]
    return 1  # unbatched (T, I); a packed input sorted on entry carries no indices


def rnn_biases(m: nn.Module) -> list[torch.Tensor | None]:
    """bias_ih/bias_hh of every layer and direction (PyTorch's own parameter names)."""
    if isinstance(m, nn.RNNCellBase):
        return [m.bias_ih, m.bias_hh]
    return [getattr(m, n) for n in m._flat_weights_names if n.startswith("bias_")]


_HOW = {"biases": rnn_biases, "outputs": rnn_outputs, "batch": rnn_batch}
for _type in (nn.LSTM, nn.GRU, nn.RNN):
    RULES.register(_type, **_HOW)(partial(rnn, gates=_GATES[_type]))
for _type in (nn.LSTMCell, nn.GRUCell, nn.RNNCell):
    RULES.register(_type, **_HOW)(partial(cell, gates=_GATES[_type]))
