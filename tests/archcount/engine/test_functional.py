"""The functional-op pass: cat in UNet, residual adds, op formulas by hand, attention rules."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archcount
from archcount.engine.functional import with_functional
from archcount.engine.walk import prepare
from archcount.recording import record
from archcount.records import Kind
from models import ConvTransposeNet, UNet


def _ops(f):
    return {(x.owner, x.op): x for x in f.ops}


def test_unet_cat_is_found_and_counted_per_example():
    with torch.device("meta"):
        model = UNet(num_in_channels=1, num_filters=32, num_colours=24)
    f = record(prepare(model, (2, 1, 32, 32))).functional()
    assert set(_ops(f)) == {("UNet", "aten.cat")}
    cat = _ops(f)[("UNet", "aten.cat")]
    # cat(layer3 out, layer1 out): 64x16x16; cat(layer4 out, x): 25x32x32; one copy per output
    assert cat.calls == 2 and cat.outputs == cat.connections == 64 * 16 * 16 + 25 * 32 * 32
    # a copy is a view: the totals with functional ops (the default) are the hooks' alone
    assert cat.kind is Kind.VIEW and (f.outputs, f.connections) == (0, 0)
    report = archcount.count(model, (2, 1, 32, 32))
    bare = archcount.count(model, (2, 1, 32, 32), functional=False)
    assert report.totals == bare.totals == with_functional(bare, f).totals


def test_unet_without_cat_is_convtransposenet_with_wider_inputs():
    # Only layer4 and layer5 read the joined tensors: every other row matches ConvTransposeNet.
    a = {x.name: x for x in archcount.count(UNet(), (1, 1, 32, 32)).layers}
    b = {x.name: x for x in archcount.count(ConvTransposeNet(), (1, 1, 32, 32)).layers}
    same = [n for n in a if not n.startswith(("layer4.0", "layer5"))]
    assert all(a[n] == b[n] for n in same)
    assert a["layer4.0"].input_shape == (1, 64, 16, 16) and a["layer5"].input_shape[1] == 25


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)) + x) * 0.5


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_residual_add_two_taps_per_output_and_linears_covered(device):
    with torch.device(device):
        model = Residual()
    f = record(prepare(model, (3, 8))).functional()
    ops = _ops(f)
    assert ops[("Residual", "aten.add")].connections == 2 * 8
    assert ops[("Residual", "aten.add")].outputs == 8
    # relu(x) and x * 0.5 are element-wise: nothing under `units`, one tap under `modules`
    assert f.outputs == 8 and f.connections == 16
    modules = record(prepare(model, (3, 8))).functional("modules")
    assert modules.outputs == 24 and modules.connections == 32
    assert f.covered_calls > 0  # the Linear's addmm ran inside a counted module


@pytest.mark.parametrize(
    ("op", "name", "outputs", "connections"),
    [
        (lambda x: torch.cat([x, x], 1), "aten.cat", 64, 64),
        (lambda x: x + x.flip(2), "aten.add", 32, 64),
        (lambda x: x.flatten(1) @ torch.ones(32, 5, device=x.device), "aten.mm", 5, 5 * 32),
        (lambda x: x @ x.transpose(2, 3), "aten.bmm", 32, 32 * 4),
        (lambda x: F.interpolate(x, scale_factor=2), "aten.upsample_nearest2d", 128, 128),
        (
            lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
            "aten.upsample_bilinear2d",
            128,
            4 * 128,
        ),
        (lambda x: F.max_pool2d(x, 2), "aten.max_pool2d_with_indices", 8, 8 * 4),
        (lambda x: x.mean((2, 3)), "aten.mean", 2, 32),
    ],
)
def test_op_formulas_by_hand(op, name, outputs, connections, functional_net):
    with torch.device("meta"):
        f = record(prepare(functional_net(op), (1, 2, 4, 4))).functional()
    x = _ops(f)[("Functional", name)]
    assert (x.outputs, x.connections) == (outputs, connections)


def test_unknown_op_is_named_not_zero(functional_net):
    f = record(prepare(functional_net(lambda x: torch.trace(x[0, 0])), (1, 2, 4, 4))).functional()
    assert f.unknown == ("aten.trace",)


def test_mha_rule_matches_torch_flop_counter():
    """Multiply-adds of projections, QK^T and AV: torch's FlopCounterMode counts 2 per MAC.

    On meta, attention runs as bmm (the CPU flash kernel has no formula in flop_counter).
    """
    with torch.device("meta"):
        m = nn.MultiheadAttention(16, 4, batch_first=True)
        q, kv = torch.zeros(2, 5, 16), torch.zeros(2, 7, 16)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        m(q, kv, kv, need_weights=False)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = m

        def forward(self, q, kv):
            return self.attn(q, kv, kv, need_weights=False)[0]

    r = archcount.count(Wrap(), example_input=(q, kv))
    assert r.totals.connections * 2 * 2 == counter.get_total_flops()  # per example, 2/MAC
    assert r.totals.unknown == () and r.warnings == ()


def test_transformer_decoder_has_no_unknown_connections():
    layer = nn.TransformerDecoderLayer(32, 4, 64, batch_first=True)
    with torch.device("meta"):
        model = nn.TransformerDecoder(layer.to("meta"), 2)
    tgt = torch.zeros(2, 5, 32, device="meta")
    mem = torch.zeros(2, 9, 32, device="meta")
    r = archcount.count(model, example_input=(tgt, mem))
    assert r.totals.unknown == () and r.warnings == ()
    f = record(prepare(model, example_input=(tgt, mem))).functional()
    assert {x.op for x in f.ops} == {"aten.add", "aten.relu"}  # residuals, functional relu


def test_one_forward_serves_hooks_attention_and_ops():
    calls = []

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            calls.append(1)
            return F.scaled_dot_product_attention(self.fc(x), x, x) + x

    r = archcount.count(Counting(), (1, 3, 4))
    assert len(calls) == 1 and r.totals.unknown == ()
    assert {x.type for x in r.layers} == {"Linear", "scaled_dot_product_attention", "aten.add"}
