"""FlopCounterMode as a cross-check peer: on meta, its MACs recomputed from our rows."""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archcount
from archcount.peers.crosscheck import PeerCheck, cross_check


def _checks(model, x):
    report = archcount.count(model, example_input=x)
    return {(c.peer, c.metric): c for c in cross_check(report, model, (x,)).checks}


class Tagger(nn.Module):
    """An LSTM tagger: embedding, a 2-layer bidirectional LSTM, a norm and a linear head."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 10)
        self.rnn = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
        self.norm = nn.LayerNorm(40)
        self.head = nn.Linear(40, 5)

    def forward(self, ids):
        return self.head(self.norm(self.rnn(self.emb(ids))[0]))


def test_lstm_tagger_macs_equal_on_meta_where_cpu_counts_zero():
    """Per example, T = 7: LSTM 100,800 (the hand test) + head 7·40·5 = 1,400 MACs; the
    embedding and norm are 0 to FlopCounterMode. On CPU it sees one mkldnn kernel and says 0."""
    model, ids = Tagger(), torch.zeros(3, 7, dtype=torch.long)
    c = _checks(model, ids)["FlopCounterMode", "MACs"]
    assert c.theirs == c.expected == 100_800 + 1_400
    assert c.explained and c.verdict.startswith("differ: explained")  # ours adds emb and norm
    assert {d.type for d in c.diffs if d.ours != d.expected} == {"Embedding", "LayerNorm"}
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(ids)
    assert counter.get_total_flops() // 2 == 3 * 1_400  # the CPU LSTM kernel: no formula


class WithToken(nn.Module):
    """A container that holds a parameter itself (as ViT's embeddings hold cls_token)."""

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(4))
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.lin(x + self.token)


def test_a_container_s_own_parameters_are_counted_once_in_the_recomputation():
    """torchinfo: Linear 20 + the container's leftover 4 = 24; recomputing the container's
    row with every parameter under it counted the Linear's 20 twice (44: not explained)."""
    c = _checks(WithToken(), torch.zeros(2, 4))["torchinfo", "params"]
    assert c.theirs == c.expected == c.ours == 24 and c.verdict == "agree"


def test_equal_totals_with_a_wrong_recomputation_never_say_agree():
    c = PeerCheck("p", "params", "weights", ours=24, theirs=24, expected=44, diffs=())
    assert c.agree and not c.explained
    assert c.verdict != "agree" and "NOT explained" in c.verdict


class Attention(nn.Module):
    """One causal self-attention: a packed qkv projection, then F.scaled_dot_product_attention."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(16, 48, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, 2, 8).permute(2, 0, 3, 1, 4)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


def test_cpu_flash_attention_is_counted_on_meta_where_cpu_flopcounter_says_zero():
    """T = 10, 2 heads of 8: qkv 10·16·48 = 7,680; attention (nominal, the full scores, as
    FlopCounterMode counts them) 2 heads · 10·10·(8 + 8) = 3,200 MACs per example. On CPU
    tensors FlopCounterMode sees the fused CPU flash kernel and counts only the 7,680."""
    model, x = Attention(), torch.zeros(2, 10, 16)
    c = _checks(model, x)["FlopCounterMode", "MACs"]
    assert c.theirs == c.expected == 7_680 + 3_200 and c.explained
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    assert counter.get_total_flops() // 2 == 2 * 7_680  # pytorch#195460: no formula, 0
