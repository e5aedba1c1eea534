"""What archcount knows of tensor values on meta, and what the batch is read from.

On meta, small tensors computed from constants have shadows (their values on CPU, computed
beside the run): a forward that reads one (`.item()`, `if mask.all()`) gets its real value,
so it runs on meta and counts as on CPU. A module with a rule is divided by the batch when an
op inside it reads the batch, not because an argument it was given holds it.
"""

import torch
import torch.nn.functional as F
from torch import nn

import archcount
from archcount.engine.tags import declare_values


class Positions(nn.Embedding):
    """BART's learned positions: given the ids, but embedding arange(T) (no batch)."""

    def forward(self, ids, position_ids):
        return super().forward(position_ids + 2)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(10, 4), Positions(20, 4)

    def forward(self, ids):
        t = ids.shape[1]
        keep = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
        # bool() and int() of meta tensors (.item()): read from their shadows; start 0, as on CPU
        start = 1 if keep.all() else int(keep.sum()) - t * (t + 1) // 2
        pos = torch.arange(start, start + t, device=ids.device).unsqueeze(0)
        return self.tok(ids) + self.pos(ids, pos)


def test_a_meta_forward_reading_values_of_constants_counts_as_on_cpu():
    got = {}
    for device in ("cpu", "meta"):
        with torch.device(device):
            model = Decoder()
        r = archcount.count(model, example_input=torch.zeros(1, 6, dtype=torch.long, device=device))
        got[device] = (r.totals, r.warnings)
    assert got["meta"] == got["cpu"]
    assert got["cpu"][1] == ()


def test_a_rule_module_given_the_batch_but_not_reading_it_is_not_divided():
    one, two = (
        archcount.count(Decoder(), example_input=torch.zeros(b, 6, dtype=torch.long))
        for b in (1, 2)
    )
    assert two.totals == one.totals and two.warnings == ()
    pos = next(r for r in two.layers if r.name == "pos")
    assert pos.outputs == 6 * 4  # its (1, 6, 4) output, per example as at batch 1


def test_a_reduction_over_the_whole_batch_counts_the_same_at_any_batch():
    class Check(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(x) * (x.abs().sum() > 0)  # one output from every example

    one, three = (archcount.count(Check(), (b, 4)) for b in (1, 3))
    assert three.totals == one.totals and three.warnings == ()


def test_a_meta_tensor_without_values_still_fails_with_the_hint():
    class Reads(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(x) if x.sum() > 0 else x  # the input's values: unknown on meta

    with torch.device("meta"):
        model = Reads()
    try:
        archcount.count(model, (1, 4))
    except archcount.ArchcountError as exc:
        assert "try --device cpu" in str(exc)
    else:
        raise AssertionError("a meta forward reading unknown values must fail")


def test_declared_values_survive_an_in_place_write_in_forward():
    from archcount.engine import tags

    class Writes(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x, mask):
            mask.mul_(2)  # in place, on the caller's tensor
            return self.lin(x) * mask.sum()

    x = torch.zeros(1, 4, device="meta")
    mask = tags.declare_values(torch.ones(1, 4, device="meta"), torch.ones(1, 4))
    with torch.device("meta"):
        model = Writes()
    for _ in range(2):
        archcount.count(model, example_input=x, example_kwargs={"mask": mask})
    assert torch.equal(mask._ac_v, torch.ones(1, 4))


class MaskedMHA(nn.Module):
    """nn.MultiheadAttention given an additive mask as an input (its values: the caller's)."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x, mask):
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]


def test_mha_with_a_mask_unreadable_on_meta_warns_and_cpu_reads_it():
    t = 5
    mask = torch.zeros(t, t).masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), -torch.inf)
    cpu = archcount.count(MaskedMHA(), example_input=(torch.zeros(1, t, 8), mask))
    (row,) = [r for r in cpu.layers if r.name == "attn"]
    # by hand: t(t-1)/2 masked scores per head, 2 heads, d + dv = 2·8/2 taps each
    assert row.connections - row.connections_exact == t * (t - 1) // 2 * 2 * 8
    with torch.device("meta"):
        model = MaskedMHA()
        inputs = (torch.zeros(1, t, 8), torch.zeros(t, t))  # a meta mask: no values
    meta = archcount.count(model, example_input=inputs)
    assert meta.totals.connections_exact == meta.totals.connections  # it cannot read the mask
    assert [w for w in meta.warnings if "attention mask values unknown on meta" in w]


class OneHotMask(nn.Module):
    """LongT5's block ids: F.one_hot of positions (whose CPU kernel checks their range with an
    aminmax meta skips), used here as an attention mask: a token sees its own block only."""

    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.ones(()))  # where it lives: the count's device

    def forward(self, x):
        t = x.shape[1]
        ids = x[..., 0].long() + torch.arange(t, device=x.device)  # (B, T), from the input
        keep = F.one_hot(torch.div(ids, 2, rounding_mode="floor"), t // 2).float()
        mask = torch.bmm(keep, keep.transpose(1, 2)) > 0  # same block
        return F.scaled_dot_product_attention(x, x, x * self.scale, attn_mask=mask)


def test_one_hot_adds_no_row_and_its_values_are_read_on_meta():
    t, d = 6, 4
    cpu = archcount.count(OneHotMask(), (1, t, d))
    with torch.device("meta"):
        model = OneHotMask()
    x = declare_values(torch.zeros(1, t, d, device="meta"), torch.zeros(1, t, d))  # as hf:'s
    meta = archcount.count(model, example_input=x)
    assert not [r for r in cpu.layers if "aminmax" in r.name]  # the range check is no work
    assert [r.ops for r in cpu.layers] == [r.ops for r in meta.layers]
    assert cpu.warnings == meta.warnings == ()
    # by hand: each token sees the 2 of its block, the other t - 2 scores leave d + d taps each
    for r in (cpu, meta):
        assert r.totals.connections - r.totals.connections_exact == t * (t - 2) * 2 * d


class CachedBiasedCausal(nn.Module):
    """Hand-written attention as ProphetNet and DeBERTa write it: positions looked up from a
    buffer (no values on meta), keys after a cache that starts empty, scores plus a bias
    computed from the activations, plus a causal mask."""

    def __init__(self, d: int = 4, t: int = 6):
        super().__init__()
        self.q, self.bias, self.pos = nn.Linear(d, d), nn.Linear(d, t), nn.Embedding(t, d)
        self.register_buffer("position_ids", torch.arange(t))
        self.register_buffer("past", torch.zeros(1, 0, d))

    def forward(self, x):
        t = x.shape[1]
        h = x + self.pos(self.position_ids[:t])
        k = torch.cat([self.past, h], dim=1)
        scores = self.q(h) @ k.transpose(1, 2) + self.bias(h)
        causal = torch.full((t, t), float("-inf"), device=x.device).triu(1)
        return (scores + causal).softmax(-1) @ k


def test_scores_plus_a_computed_bias_plus_a_causal_mask_are_read_on_meta():
    t, d = 6, 4
    cpu = archcount.count(CachedBiasedCausal(d, t), (1, t, d))
    with torch.device("meta"):
        model = CachedBiasedCausal(d, t)
    x = declare_values(torch.zeros(1, t, d, device="meta"), torch.zeros(1, t, d))
    meta = archcount.count(model, example_input=x)
    assert cpu.warnings == meta.warnings == ()
    for r in (cpu, meta):  # by hand: t(t-1)/2 masked scores, d (q·k) + d (weights·v) taps each
        assert r.totals.connections - r.totals.connections_exact == t * (t - 1) // 2 * 2 * d
