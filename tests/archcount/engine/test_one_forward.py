"""One recorded forward: modules counted from their ops, functional rows, attention, batch."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, flop_registry

import archcount
from archcount.engine.rules import OP_RULES
from archcount.engine.rules.registry import named_args
from archcount.errors import ForwardError
from archcount.records import Kind, Source


def test_every_flop_counter_op_has_an_op_rule():
    assert len(flop_registry) > 20
    assert [str(op) for op in flop_registry if op not in OP_RULES] == []


@pytest.mark.parametrize(
    ("op", "shapes", "macs"),
    [  # FlopCounterMode's own formulas, over 2 FLOPs per multiply-add
        ("mm", ((3, 4), (4, 5)), 3 * 4 * 5),
        ("bmm", ((2, 3, 4), (2, 4, 5)), 2 * 3 * 4 * 5),
        ("addmm", ((5,), (3, 4), (4, 5)), 3 * 4 * 5),
        ("baddbmm", ((2, 3, 5), (2, 3, 4), (2, 4, 5)), 2 * 3 * 4 * 5),
    ],
)
def test_matmul_rules_equal_flop_counter(op, shapes, macs):
    args = [torch.zeros(s, device="meta") for s in shapes]
    with FlopCounterMode(display=False) as fc:
        out = getattr(torch, op)(*args)
    func = getattr(torch.ops.aten, op).default
    rule = OP_RULES.lookup(func)
    assert (
        rule.fn(named_args(func, args, {}), tuple(out.shape)) == macs == fc.get_total_flops() // 2
    )


def test_addbmm_counts_every_batch():
    b1, b2 = torch.zeros(7, 3, 4), torch.zeros(7, 4, 5)
    rule = OP_RULES.lookup(torch.ops.aten.addbmm)
    named = {"self": (3, 5), "batch1": (7, 3, 4), "batch2": (7, 4, 5)}
    assert rule.fn(named, (3, 5)) == 7 * 3 * 4 * 5
    assert torch.addbmm(torch.zeros(3, 5), b1, b2).shape == (3, 5)


class NewGELU(nn.Module):
    """transformers' gelu_new: x + 0.044715 x^3 adds x to a function of x: element-wise."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


class Conv1D(nn.Module):
    """transformers' Conv1D: an addmm on its own weight (no rule of its own)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.zeros(nx, nf)), nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(*x.shape[:-1], -1)


class Block(nn.Module):
    """A causal GPT-style block: projections, SDPA, a residual add, an MLP."""

    def __init__(self, width=8, heads=2, hand_written=False):
        super().__init__()
        self.heads, self.hand = heads, hand_written
        self.qkv, self.proj = Conv1D(3 * width, width), Conv1D(width, width)
        self.fc, self.act = nn.Linear(width, 2 * width), NewGELU()
        self.out = nn.Linear(2 * width, width)

    def forward(self, x):
        n, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(n, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))
        if self.hand:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).tril().logical_not(), -1e9)
            y = att.softmax(-1) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(n, t, c))
        return x + self.out(self.act(self.fc(x)))


T, W, H = 6, 8, 2
D = W // H


def _rows(r):
    return {x.label: x for x in r.layers}


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_causal_block_exact_scores_are_t_t_plus_1_over_2_per_head(device):
    with torch.device(device):
        block = Block(W, H)
    r = archcount.count(block, (1, T, W))
    sdpa = _rows(r)["Block (scaled_dot_product_attention ×1)"]
    # per head: T^2 scores nominal, T(T+1)/2 kept; d taps (q.k) + dv taps (weights x v) each
    assert sdpa.connections == H * T * T * (D + D)
    assert sdpa.connections_exact == H * T * (T + 1) // 2 * (D + D)
    rows = _rows(r)
    assert rows["qkv"].source is Source.OPS and rows["qkv"].connections == T * 3 * W * W
    assert rows["act"].kind is Kind.ELEMENTWISE and rows["act"].outputs == 0  # not a unit
    assert r.totals.unknown == () and r.warnings == ()
    assert r.totals.weights == sum(p.numel() for p in block.parameters())


def test_same_counts_on_meta_and_cpu_and_flop_counter_convention():
    reports = {}
    for device in ("meta", "cpu"):
        with torch.device(device):
            torch.manual_seed(0)
            block = Block(W, H)
        reports[device] = archcount.count(block, (2, T, W))
    assert reports["meta"].totals == reports["cpu"].totals
    with torch.device("meta"):
        block = Block(W, H)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        block(torch.zeros(2, T, W, device="meta"))
    macs = 0
    for x in reports["meta"].layers:  # FlopCounterMode counts mm/addmm/bmm/conv/SDPA only
        if x.type == "Linear":
            macs += x.connections * 2  # per example -> batch 2
        macs += 2 * sum(c for op, _, c in x.ops if op in ("aten.addmm", "aten.mm")) or 0
        if x.type == "scaled_dot_product_attention":
            macs += 2 * x.connections
    assert macs * 2 == fc.get_total_flops()


def test_hand_written_attention_counts_nominal_and_exact_scores():
    r = archcount.count(Block(W, H, hand_written=True), (1, T, W))
    bmm = next(x for x in r.layers if x.type == "aten.bmm")
    assert bmm.connections == H * T * T * D * 2 and bmm.label == "Block (aten.bmm ×2)"
    assert bmm.connections_exact == H * T * (T + 1) // 2 * D * 2  # its -1e9 causal mask read
    assert r.totals.unknown == ()


def test_no_functional_leaves_the_own_code_ops_out():
    r = archcount.count(Block(W, H), (1, T, W), functional=False)
    assert not any(x.source is Source.FUNCTIONAL for x in r.layers)
    full = archcount.count(Block(W, H), (1, T, W))
    extra = sum(x.connections for x in full.layers if x.source is Source.FUNCTIONAL)
    assert full.totals.connections == r.totals.connections + extra


class Positions(nn.Module):
    """GPT-2's wte + wpe: the position embedding runs on unbatched ids (1, T)."""

    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(10, 4), nn.Embedding(16, 4)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        return self.wte(ids) + self.wpe(pos)


@pytest.mark.parametrize("batch", [2, 3])
def test_rows_without_the_batch_are_not_divided(batch):
    ids1, ids = torch.zeros(1, 5, dtype=torch.long), torch.zeros(batch, 5, dtype=torch.long)
    one, many = (archcount.count(Positions(), example_input=x) for x in (ids1, ids))
    assert many.totals == one.totals and many.warnings == ()
    assert _rows(many)["wpe"].outputs == 5 * 4  # per example, as at batch 1


class BatchNormAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d: a BatchNorm2d (its rule) with an `act` child."""

    def __init__(self, c):
        super().__init__(c)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(super().forward(x))


def test_children_of_a_module_with_a_rule_still_count():
    r = archcount.count(nn.Sequential(nn.Conv2d(1, 2, 3), BatchNormAct(2)), (1, 1, 6, 6))
    names = [x.name for x in r.layers]
    assert names == ["0", "1.act", "1"]
    modules = archcount.count(
        nn.Sequential(nn.Conv2d(1, 2, 3), BatchNormAct(2)), (1, 1, 6, 6), convention="modules"
    )
    assert modules.totals.outputs == 3 * 2 * 4 * 4  # conv, act and norm outputs


class ViTEmbed(nn.Module):
    """ViT's cls_token and pos_embed: parameters the container's own code reads."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Linear(4, 8)
        self.cls_token, self.pos_embed = (
            nn.Parameter(torch.zeros(1, 1, 8)),
            nn.Parameter(torch.zeros(1, 4, 8)),
        )

    def forward(self, x):
        x = self.patch(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed


def test_parameters_read_in_functional_code_are_counted_once():
    r = archcount.count(ViTEmbed(), (2, 3, 4))
    assert r.totals.weights == 40 + 8 + 32 and r.totals.unknown == ()
    add = _rows(r)["ViTEmbed (aten.add ×1)"]
    assert add.connections == 4 * 8 * 2  # x + pos_embed: two reads per output
    assert not any("no op of its forward read" in w for w in r.warnings)


class Resize(nn.Module):
    """YOLOS's position interpolation: a leaf without a rule, given its parent's parameter."""

    def forward(self, pos, size):
        grid = pos.transpose(1, 2).view(1, 8, 2, 2)
        return F.interpolate(grid, size=size, mode="bilinear").flatten(2).transpose(1, 2)


class YolosEmbed(ViTEmbed):
    def __init__(self):
        super().__init__()
        self.resize = Resize()

    def forward(self, x):
        return self.patch(x) + self.resize(self.pos_embed, (3, 3))


def test_a_parameter_passed_to_a_child_is_counted_on_the_child_that_reads_it():
    r = archcount.count(YolosEmbed(), (1, 9, 4))
    rows = _rows(r)
    assert rows["resize"].weights == 32  # pos_embed, read there by its ops
    assert rows["resize"].connections == 9 * 8 * 4  # bilinear: 4 taps per output
    unread = [w for w in r.warnings if "no op of its forward read" in w]
    assert [w.split(" that")[0] for w in unread] == ["YolosEmbed holds 8 weights"]  # cls_token
    assert r.totals.weights == 40 + 8 + 32


class Cached(nn.Module):
    """A KV cache: the model returns an object that keeps cat results."""

    class Cache:
        def __init__(self):
            self.keys = None

    def __init__(self):
        super().__init__()
        self.k = nn.Linear(4, 4)

    def forward(self, x, cache):
        k = self.k(x)
        cache.keys = k if cache.keys is None else torch.cat([cache.keys, k], 1)
        cache.keys = torch.cat([torch.zeros(x.shape[0], 0, 4, device=x.device), cache.keys], 1)
        return k.sum(), cache


def test_kv_cache_writes_are_cache_copies_not_connections():
    r = archcount.count(Cached(), example_input=(torch.zeros(1, 3, 4), Cached.Cache()))
    cache = [x for x in r.layers if x.kind is Kind.CACHE]
    assert len(cache) == 1 and r.totals.cache_copies == 3 * 4
    assert r.totals.connections == 3 * 4 * 4 + 12  # the Linear, and the sum's reads


class NeedsValues(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x) * int(x.sum().item())


def test_forward_failing_on_meta_says_try_cpu():
    with torch.device("meta"):
        model = NeedsValues()
    with pytest.raises(ForwardError, match="try --device cpu"):
        archcount.count(model, (1, 2))


def test_mha_masks_exact_and_nominal():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.zeros(1, T, 8)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)  # True: not allowed (MHA's convention)

    class Wrap(nn.Module):
        def __init__(self, need_weights):
            super().__init__()
            self.attn, self.need = m, need_weights

        def forward(self, x):
            return self.attn(x, x, x, attn_mask=causal, need_weights=self.need)[0]

    for need in (False, True):
        row = _rows(archcount.count(Wrap(need), example_input=x))["attn"]
        scores = row.connections - row.connections_exact
        assert scores == T * (T - 1) // 2 * H * 2 * (8 // H)  # masked scores x (d + dv)


@pytest.mark.parametrize("n", [1, 3])
def test_a_rule_gives_its_call_batch_and_units(n):
    """LSTM(10, 20, 2, bidirectional) on T = 7, batch at dim 1: per layer and direction and
    step 4·20·(I + 20) taps, I = 10 then 40; units 7·2·2·20 hidden states (docs' hand numbers)."""
    r = archcount.count(nn.LSTM(10, 20, 2, bidirectional=True), example_input=torch.zeros(7, n, 10))
    taps = 7 * 2 * 4 * 20 * ((10 + 20) + (40 + 20))
    assert (r.totals.connections, r.totals.outputs, r.warnings) == (taps, 7 * 2 * 2 * 20, ())


class GlobalHeads(nn.Module):
    """Longformer: each block holds global-attention projections that run only for global
    tokens; the blocks sit in a ModuleList, which is never called itself."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"local": nn.Linear(4, 4), "glob": nn.Linear(4, 4)}) for _ in range(2)
        )
        self.spare = nn.Linear(4, 3)

    def forward(self, x):
        for block in self.blocks:
            x = block["local"](x)
        return x


def test_modules_that_never_ran_are_named_not_their_list():
    r = archcount.count(GlobalHeads(), (1, 4))
    (idle,) = [w for w in r.warnings if "never ran" in w]
    assert idle == (
        "3 modules never ran in forward (blocks.0.glob, blocks.1.glob, spare): their 55 weights "
        "are counted apart, as 'not run' (no outputs or connections)"
    )
    # issue 20: the weight count does not depend on what ran; the idle ones are shown apart
    assert (
        r.totals.weights
        == 2 * 20 + 2 * 20 + 15
        == sum(p.numel() for p in GlobalHeads().parameters())
    )
    assert r.totals.not_run_weights == 55
    not_run = [
        (x.name, x.type, x.weights, x.connections) for x in r.layers if x.source is Source.NOT_RUN
    ]
    assert not_run == [
        ("blocks.0.glob (Linear, not run)", "not run", 20, 0),
        ("blocks.1.glob (Linear, not run)", "not run", 20, 0),
        ("spare (Linear, not run)", "not run", 15, 0),
    ]


class ReadsAnEmbeddingsTable(nn.Module):
    """DeBERTa v1: the encoder hands `rel_embeddings.weight` (an Embedding never called) to
    each block, whose pos_proj Linear reads a slice of it."""

    def __init__(self):
        super().__init__()
        self.rel_embeddings = nn.Embedding(8, 4)
        self.pos_proj = nn.Linear(4, 4, bias=False)

    def forward(self, x):
        return x + self.pos_proj(self.rel_embeddings.weight[2:6]).sum()


def test_a_parameter_read_straight_from_a_module_that_never_ran_counts():
    r = archcount.count(ReadsAnEmbeddingsTable(), (1, 4))
    assert r.totals.weights == 8 * 4 + 4 * 4  # hand count: the table and the projection
    (row,) = [x for x in r.layers if x.name.startswith("rel_embeddings")]
    assert (row.name, row.weights, row.source, r.totals.not_run_weights) == (
        "rel_embeddings (parameters)",
        32,
        Source.FUNCTIONAL,
        0,
    )
    assert not [w for w in r.warnings if "never ran" in w]


class Routed(nn.Module):
    """A mixture of experts whose router sends every token to one expert, picked by `pick`."""

    def __init__(self, pick: int):
        super().__init__()
        self.pick = pick
        self.experts = nn.ModuleList(nn.Linear(4, 4 + i) for i in range(3))

    def forward(self, x):
        return self.experts[self.pick](x)


def test_a_models_weight_count_does_not_depend_on_routing():
    torch.manual_seed(0)
    counts = []
    for pick in range(3):
        model = Routed(pick)
        r = archcount.count(model, (2, 4))
        assert r.totals.weights == sum(p.numel() for p in model.parameters())
        not_run = sum(4 * (4 + i) + 4 + i for i in range(3) if i != pick)  # hand count
        counts.append(r.totals.weights)
        assert r.totals.not_run_weights == not_run
    assert len(set(counts)) == 1
