"""Hand-written attention (q @ kᵀ, a mask, softmax, @ v): nominal all scores, exact the kept.

Every expected figure is counted by hand or by brute force from the mask itself: per head and
example, nominal = L·S·(d + dv) and exact = kept·(d + dv), kept the scores the mask leaves.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import archcount

H, D = 2, 4
E = H * D


class Container(nn.Module):
    """A module with a child: its own attention ops are rows of their own (not its row's ops)."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Identity()


class Attn(nn.Module):
    """Self-attention over (N, T, E) with a mask applied the way `how` says."""

    def __init__(self, how: str, allowed: torch.Tensor | None = None):
        super().__init__()
        self.qkv = nn.Linear(E, 3 * E)
        self.how, self.allowed = how, allowed  # allowed: bool (T, S), True where kept

    def forward(self, x):
        n, t, _ = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, H, D).permute(2, 0, 3, 1, 4)
        allowed = self.allowed
        if allowed is None:  # causal, built in forward like transformers' masks
            allowed = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        if self.how == "sdpa":
            return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        a = q @ k.transpose(-2, -1) / math.sqrt(D)
        if self.how == "masked_fill":
            a = a.masked_fill(~allowed, float("-inf"))
        elif self.how == "masked_fill_":
            a.masked_fill_(allowed.logical_not(), -1e9)
        elif self.how == "where":
            a = torch.where(allowed, a, torch.finfo(a.dtype).min)
        elif self.how == "add":
            a = a + torch.zeros(allowed.shape, device=x.device).masked_fill(~allowed, -1e4)
        elif self.how == "add_-100":  # Swin's convention
            a = a + (~allowed).float() * -100.0
        return torch.softmax(a, dim=-1) @ v


def attention_rows(report):
    rows = [r for r in report.layers if r.type in ("aten.bmm", "scaled_dot_product_attention")]
    return sum(r.connections for r in rows), sum(r.connections_exact for r in rows)


HOWS = ["masked_fill", "masked_fill_", "where", "add", "add_-100"]


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("how", HOWS)
def test_causal_hand_written_exact_is_t_t_plus_1_over_2_per_head(how, device):
    t = 7
    with torch.device(device):
        model = Attn(how)
    r = archcount.count(model, (1, t, E))
    nominal, exact = attention_rows(r)
    assert nominal == H * t * t * (D + D)
    assert exact == H * t * (t + 1) // 2 * (D + D)
    assert r.warnings == ()


@pytest.mark.parametrize("how", HOWS)
def test_hand_written_equals_sdpa_and_batch_two_per_example(how):
    t = 5
    counts = {}
    for kind in (how, "sdpa"):
        for batch in (1, 2):
            counts[kind, batch] = attention_rows(archcount.count(Attn(kind), (batch, t, E)))
    assert counts[how, 1] == counts[how, 2] == counts["sdpa", 1] == counts["sdpa", 2]


def test_unmasked_hand_written_is_nominal_and_scale_or_softcap_keep_it():
    class Plain(Container):
        def forward(self, q, k, v):
            q = self.inner(q)
            a = torch.tanh((q @ k.transpose(-2, -1)) * 0.5) * 30.0  # Gemma-style softcap
            return a.softmax(-1) @ v

    q = torch.zeros(1, H, 6, D)
    k = v = torch.zeros(1, H, 9, D)
    r = archcount.count(Plain(), example_input=(q, k, v))
    assert attention_rows(r) == (H * 6 * 9 * 2 * D,) * 2


@settings(max_examples=25, deadline=None)
@given(
    t=st.integers(1, 6),
    s=st.integers(1, 6),
    bits=st.lists(st.booleans(), min_size=36, max_size=36),
    how=st.sampled_from(HOWS),
)
def test_any_mask_leaves_out_exactly_its_blocked_scores(t, s, bits, how):
    allowed = torch.tensor(bits[: t * s]).view(t, s)

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = Attn(how, allowed)

        def forward(self, x, mem):
            q = x.view(1, t, H, D).transpose(1, 2)
            k = v = mem.view(1, s, H, D).transpose(1, 2)
            a = q @ k.transpose(-2, -1)
            if how.startswith("masked_fill"):
                a = a.masked_fill(~allowed, float("-inf"))
            elif how == "where":
                a = torch.where(allowed, a, float("-inf"))
            else:
                a = a + torch.zeros(t, s).masked_fill(~allowed, -1e4 if how == "add" else -100.0)
            return a.softmax(-1) @ v

    r = archcount.count(Cross(), example_input=(torch.zeros(1, t, E), torch.zeros(1, s, E)))
    kept = int(allowed.sum())  # brute force: the mask's own True entries
    assert attention_rows(r) == (H * t * s * 2 * D, H * kept * 2 * D)


def test_a_meta_buffer_mask_has_no_values_and_says_so():
    class Buffered(Attn):
        def __init__(self):
            super().__init__("masked_fill", None)
            self.register_buffer("tril", torch.ones(5, 5, dtype=torch.bool).tril())

        def forward(self, x):
            self.allowed = self.tril
            return super().forward(x)

    with torch.device("meta"):
        model = Buffered()
    r = archcount.count(model, (1, 5, E))
    nominal, exact = attention_rows(r)
    assert exact == nominal
    assert any("hand-written attention" in w and "--device cpu" in w for w in r.warnings)
    with torch.device("cpu"):
        cpu = archcount.count(Buffered(), (1, 5, E))
    assert attention_rows(cpu)[1] == H * 15 * 2 * D and cpu.warnings == ()


def test_a_learned_bias_plus_a_causal_mask_reads_the_same_on_meta_and_cpu():
    class Biased(Container):  # T5 / Swin: a learned bias added beside the mask
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.randn(H, 6, 6))

        def forward(self, q, k, v):
            q, keep = self.inner(q), torch.ones(6, 6, dtype=torch.bool, device=q.device).tril()
            mask = torch.where(keep, self.bias, torch.finfo(q.dtype).min)  # bias + mask, as T5
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    got = {}
    for device in ("cpu", "meta"):
        with torch.device(device):
            model = Biased()
            qkv = tuple(torch.zeros(1, H, 6, D) for _ in range(3))
        r = archcount.count(model, example_input=qkv)
        got[device] = (attention_rows(r), r.warnings)
    assert got["cpu"] == got["meta"] == ((H * 36 * 2 * D, H * 21 * 2 * D), ())


def test_an_in_place_write_into_a_mask_is_seen_on_meta():
    class Written(Container):
        def forward(self, q, k, v):
            q, mask = self.inner(q), torch.zeros(6, 6, device=q.device)
            mask[:, 4:] = float("-inf")  # two key columns masked, written in place
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    for device in ("cpu", "meta"):
        qkv = tuple(torch.zeros(1, H, 6, D, device=device) for _ in range(3))
        r = archcount.count(Written(), example_input=qkv)
        assert attention_rows(r) == (H * 36 * 2 * D, H * 24 * 2 * D), device


def test_alibi_scores_from_baddbmm_then_a_causal_mask():
    """Bloom: scores = baddbmm(alibi, q, kᵀ), masked_fill(causal, min), softmax, bmm."""
    t = 6

    class Alibi(Container):
        def forward(self, q, k, v):  # (N·H, T, D)
            q = self.inner(q)
            slopes = torch.arange(1, H + 1, dtype=torch.float32).repeat(q.shape[0] // H)
            alibi = -slopes.view(-1, 1, 1) * torch.arange(t).view(1, 1, t)  # learned-free bias
            a = torch.baddbmm(alibi.to(q.device), q, k.transpose(1, 2), beta=1.0, alpha=0.5)
            blocked = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
            a = a.masked_fill(blocked, torch.finfo(a.dtype).min)
            return torch.bmm(a.softmax(-1), v)

    for device in ("cpu", "meta"):
        qkv = tuple(torch.zeros(H, t, D, device=device) for _ in range(3))
        r = archcount.count(Alibi(), example_input=qkv)
        rows = [x for x in r.layers if x.type in ("aten.bmm", "aten.baddbmm")]
        exact = sum(x.connections_exact for x in rows)
        # the leading N·H is the batch here: per example is per head
        assert sum(x.connections for x in rows) == t * t * 2 * D, device
        assert exact == t * (t + 1) // 2 * 2 * D, device


def test_a_bias_from_buffers_through_a_bounded_op_is_finite_on_meta():
    """SwinV2: 16·sigmoid(mlp(coords buffer)[index buffer]) beside a -100 mask built in forward."""
    t = 5

    class CosineBias(Container):
        def __init__(self):
            super().__init__()
            self.mlp = nn.Linear(2, H)
            self.register_buffer("coords", torch.randn(t * t, 2))
            self.register_buffer("index", torch.arange(t * t).flip(0))

        def forward(self, q, k, v):
            q = self.inner(q)
            bias = self.mlp(self.coords)[self.index].view(t, t, H).permute(2, 0, 1)
            a = q @ k.transpose(-2, -1) + 16 * torch.sigmoid(bias)
            pos = torch.arange(t, device=q.device)
            a = a + (pos[None, :] > pos[:, None]).float() * -100.0
            return a.softmax(-1) @ v

    got = {}
    for device in ("cpu", "meta"):
        with torch.device(device):
            model = CosineBias()
            qkv = tuple(torch.zeros(1, H, t, D) for _ in range(3))
        r = archcount.count(model, example_input=qkv)
        got[device] = (attention_rows(r), r.warnings)
    assert got["cpu"] == got["meta"] == ((H * t * t * 2 * D, H * 15 * 2 * D), ())


def test_a_mask_the_pattern_cannot_read_costs_a_warning_not_the_count():
    class Complex(Container):
        def forward(self, q, k, v):
            q = self.inner(q)
            a = q @ k.transpose(-2, -1)
            a = a + torch.zeros(6, 6, dtype=torch.complex64)  # complex: no order, no -inf
            return a.real.softmax(-1) @ v

    qkv = tuple(torch.zeros(1, H, 6, D) for _ in range(3))
    r = archcount.count(Complex(), example_input=qkv)
    assert r.totals.unknown == ()
    assert any(
        w.startswith("hand-written attention: could not follow aten.add") for w in r.warnings
    )
