"""The engine: devices, sharing, unsupported leaves, failures, user rules, options."""

import pytest
import torch
import torchinfo
from torch import nn

import archcount
from archcount import Convention, Kind, Taps
from archcount.errors import ForwardError, InputError, RuleError
from archcount.records import Source
from models import ConvTransposeNet, PoolUpsampleNet

NETS = [PoolUpsampleNet, ConvTransposeNet]


@pytest.mark.parametrize("cls", NETS)
@pytest.mark.parametrize("convention", list(Convention))
def test_meta_and_cpu_counts_are_identical(cls, convention):
    with torch.device("meta"):
        meta = cls(num_in_channels=3, num_filters=4, num_colours=5)
    cpu = cls(num_in_channels=3, num_filters=4, num_colours=5)
    a = archcount.count(meta, (2, 3, 32, 32), convention=convention)
    b = archcount.count(cpu, (2, 3, 32, 32), convention=convention)
    assert a.layers == b.layers and a.totals == b.totals


@pytest.mark.parametrize("cls", NETS)
def test_weights_equal_numel_and_torchinfo(cls):
    model = cls(num_in_channels=3, num_filters=8, num_colours=6)
    r = archcount.count(model, (1, 3, 32, 32))
    assert r.totals.weights == sum(p.numel() for p in model.parameters())
    info = torchinfo.summary(model, (1, 3, 32, 32), verbose=0)
    assert r.totals.weights == info.total_params == r.totals.trainable_weights


def test_batch_divides_out():
    model = PoolUpsampleNet(num_filters=4, num_colours=3)
    one = archcount.count(model, (1, 1, 32, 32)).totals
    assert archcount.count(model, (5, 1, 32, 32)).totals == one


class Twice(nn.Module):
    """One Linear applied twice, and two Linears sharing one weight."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.a, self.b = nn.Linear(4, 3, bias=False), nn.Linear(4, 3, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        x = self.fc(self.fc(x))
        return self.a(x) + self.b(x)


def test_shared_module_and_shared_parameter():
    r = archcount.count(Twice(), (1, 4))
    rows = [(x.name, x.call, x.weights, x.outputs, x.connections) for x in r.layers]
    assert rows == [
        ("fc", 0, 20, 4, 16),
        ("fc", 1, 0, 4, 16),
        ("a", 0, 12, 3, 12),
        ("b", 0, 0, 3, 12),
        ("Twice (aten.add ×1)", 0, 0, 3, 6),  # a(x) + b(x), in the totals by default
    ]
    assert r.totals.weights == 32 == sum(p.numel() for p in Twice().parameters())


class Odd(nn.Module):
    """A leaf without a rule whose one op (trace) has no op rule either."""

    def forward(self, x):
        return x + torch.trace(x[:, :1])


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


def test_unsupported_leaf_is_unknown_not_zero():
    model = nn.Sequential(nn.Linear(3, 5), Odd(), nn.Linear(5, 2))
    r = archcount.count(model, (1, 3))
    odd = r.layers[1]
    # trace: no rule, so connections unknown; its outputs are the (1, 5) tensor it returns
    # (issue 23 item 4: an ops row's outputs are its call's output, as a rule's row's are)
    assert odd.kind is Kind.UNSUPPORTED and odd.connections is None and odd.outputs == 5
    assert r.totals.unknown == ("1",) and r.totals.connections == 15 + 10
    assert any("no rule for aten.trace (in 1 (Odd))" in w for w in r.warnings)
    assert r.to_dict()["layers"][1]["connections"] is None


def test_leaf_without_rule_counted_from_its_ops():
    model = nn.Sequential(nn.Linear(3, 5), Doubler(), nn.Linear(5, 2))
    r = archcount.count(model, (1, 3))
    doubler = r.layers[1]
    assert (doubler.kind, doubler.source, doubler.ops) == (
        Kind.ELEMENTWISE,
        Source.OPS,
        (("aten.mul", 1, 0),),  # issue 20: the ops add up to the row under its convention
    )
    assert (doubler.outputs, doubler.connections) == (0, 0)  # element-wise: silent under units
    modules = archcount.count(model, (1, 3), convention="modules").layers[1]
    assert (modules.outputs, modules.connections) == (5, 5)
    assert modules.ops == (("aten.mul", 1, 5),)
    assert r.totals.unknown == () and r.warnings == ()


def test_user_rule_in_one_place_and_duplicates_refused():
    registry = archcount.RULES.merged({Odd: lambda m, ins, outs: Taps(7, 5)})
    assert registry.lookup(Odd).fn is not None
    r = archcount.count(nn.Sequential(Odd()), (1, 3), rules={Odd: lambda m, i, o: 3})
    assert (r.layers[0].connections, r.totals.unknown) == (3, ())
    with pytest.raises(RuleError):
        archcount.rule(nn.Conv2d)(lambda m, i, o: 0)


def test_subclass_inherits_rule():
    class MyConv(nn.Conv2d):
        pass

    r = archcount.count(MyConv(1, 2, 3), (1, 1, 5, 5))
    assert r.layers[0].kind is Kind.LAYER and r.layers[0].connections == 2 * 9 * 9


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.drop = nn.Dropout()
        self.bad = nn.Linear(5, 2)

    def forward(self, x):
        return self.bad(self.drop(self.fc(x)))


def test_failed_forward_names_layer_and_cleans_up():
    model = Broken().train()
    model.fc.eval()
    with pytest.raises(ForwardError, match=r"layer bad \(Linear\) on input shape 2x4"):
        archcount.count(model, (2, 3))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert model.training and not model.fc.training and model.drop.training


def test_mode_restored_after_success():
    model = PoolUpsampleNet(num_filters=2, num_colours=2).train()
    archcount.count(model, (1, 1, 32, 32))
    assert all(m.training for m in model.modules())
    assert not any(m._forward_hooks for m in model.modules())


def test_handout_variants_ignore_bias_and_norm():
    kw = {"num_in_channels": 2, "num_filters": 4, "num_colours": 3, "kernel": 3}
    with torch.device("meta"):
        model = PoolUpsampleNet(**kw)
    full = archcount.count(model, (1, 2, 32, 32)).totals
    no_bias = archcount.count(model, (1, 2, 32, 32), include_bias=False).totals
    bare = archcount.count(model, (1, 2, 32, 32), include_bias=False, include_norm=False)
    nif, nf, nc = 2, 4, 3
    conv_w = 9 * (nif * nf + 4 * nf**2 + nf * nc + nc**2)
    assert full.weights == conv_w + 12 * nf + 4 * nc
    assert no_bias.weights == conv_w + 8 * nf + 2 * nc  # BN's gamma and beta stay
    assert bare.totals.weights == conv_w
    # BN outputs (each BN sits after the pool or upsample): 16²·NF, 8²·2NF, 16²·NF, 32²·NC
    assert bare.totals.outputs == full.outputs - (256 * nf + 128 * nf + 256 * nf + 1024 * nc)
    assert not any(x.type == "BatchNorm2d" for x in bare.layers)


def test_frozen_weights_reported_apart():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    t = archcount.count(model, (1, 3)).totals
    assert (t.trainable_weights, t.frozen_weights, t.weights) == (10, 16, 26)


def test_idle_module_and_container_parameter_warn():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))
            self.used, self.unused = nn.Linear(3, 3), nn.Linear(3, 9)

        def forward(self, x):
            return self.used(x) * self.scale

    r = archcount.count(Holder(), (1, 3))
    # scale is read by Holder's own x * scale: its functional row counts it, connections known
    # issue 20: unused's 3·9 + 9 weights are in the total too, apart as "not run"
    assert r.totals.weights == 12 + 3 + 36 and r.totals.unknown == ()
    assert r.totals.not_run_weights == 36
    row = next(x for x in r.layers if x.source is Source.FUNCTIONAL)
    assert (row.name, row.weights, row.connections) == ("Holder (aten.mul ×1)", 3, 3 * 2)
    assert any("unused (Linear) never ran" in w for w in r.warnings)


@pytest.mark.parametrize("size", [(0, 3), (1, -2), ()])
def test_bad_sizes(size):
    with pytest.raises(InputError):
        archcount.count(nn.Linear(3, 3), size)


def test_report_to_dict_matches_totals():
    r = archcount.count(ConvTransposeNet(num_filters=4), (1, 1, 32, 32))
    d = r.to_dict()
    for key in ("weights", "outputs", "connections", "connections_exact"):
        assert d["totals"][key] == sum(x[key] for x in d["layers"])
