"""Biases by identity (or as a rule declares them), failing module rules, one prepared run."""

import pytest
import torch
from torch import nn

import archcount
from archcount import Kind, Rule
from archcount.engine.walk import prepare
from archcount.errors import RuleError
from archcount.recording import record


def weights(model, shape, **kw):
    return archcount.count(model, shape, **kw).totals.weights


class Shift(nn.Module):
    """A leaf whose shift is named like a bias but is not its `bias` attribute."""

    def __init__(self):
        super().__init__()
        self.scale, self.offset_bias = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(3))

    def forward(self, x):
        return x * self.scale + self.offset_bias


def _shift_rule(m, ins, outs):
    return 3


def test_a_parameter_named_bias_is_not_a_bias_unless_declared():
    plain = {Shift: Rule(Kind.LAYER, _shift_rule)}
    assert weights(Shift(), (1, 3), rules=plain, include_bias=False) == 6  # identity, not name
    declared = {Shift: Rule(Kind.LAYER, _shift_rule, biases=lambda m: (m.offset_bias,))}
    assert weights(Shift(), (1, 3), rules=declared, include_bias=False) == 3


@pytest.mark.parametrize(
    ("module", "shape", "bias"),
    [
        (nn.Linear(4, 3), (1, 4), 3),
        (nn.Conv2d(2, 5, 3), (1, 2, 6, 6), 5),
        (nn.ConvTranspose1d(2, 4, 3), (1, 2, 5), 4),
        (nn.Bilinear(2, 3, 4), None, 4),
    ],
)
def test_ignore_bias_drops_exactly_module_bias(module, shape, bias):
    kw = {"example_input": (torch.zeros(1, 2), torch.zeros(1, 3))} if shape is None else {}
    full = archcount.count(module, shape, **kw).totals.weights
    bare = archcount.count(module, shape, include_bias=False, **kw).totals.weights
    assert full == sum(p.numel() for p in module.parameters())
    assert full - bare == bias == module.bias.numel()


def test_mha_declares_in_proj_and_out_proj_biases():
    e = 16
    m = nn.MultiheadAttention(e, 4, batch_first=True)
    q = torch.zeros(1, 5, e)
    full = archcount.count(m, example_input=(q, q, q)).totals.weights
    bare = archcount.count(m, example_input=(q, q, q), include_bias=False).totals.weights
    assert full == 4 * e * e + 4 * e and bare == 4 * e * e  # 3E in_proj_bias + E out_proj.bias


class Boom(nn.Module):
    def forward(self, x):
        return x + 1


def test_module_rule_that_raises_is_unknown_with_one_line_warning():
    model = nn.Sequential(nn.Linear(2, 3), Boom())
    r = archcount.count(model, (1, 2), rules={Boom: lambda m, i, o: {}["mode"]})
    row = r.layers[1]
    assert row.connections is None and row.outputs == 3 and r.totals.unknown == ("1",)
    assert r.totals.connections == 6
    (w,) = r.warnings
    assert w.startswith("1 (Boom)") and "KeyError" in w and "\n" not in w


@pytest.mark.parametrize("garbage", [-1, "7", 2.5, None])
def test_module_rule_returning_garbage_is_a_rule_error(garbage):
    with pytest.raises(RuleError, match="Boom"):
        archcount.count(nn.Sequential(Boom()), (1, 2), rules={Boom: lambda m, i, o: garbage})


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.w = nn.Parameter(torch.ones(3))

    def forward(self, x):
        return self.fc(x) + x + self.w * self.w  # w * w has no batch dim


def test_prepared_run_serves_count_and_functional_pass():
    model = Residual()
    p = prepare(model, (2, 3))
    assert (p.batch, p.input_shape, [n for n, _ in p.targets]) == (2, (2, 3), ["fc"])
    assert p.args[0].shape == (2, 3) and p.registry.lookup(nn.Linear) is not None
    assert record(p).functional() == record(prepare(model, (2, 3))).functional()
    assert archcount.count(model, (2, 3)).totals == archcount.count(model, (1, 3)).totals


def test_functional_counts_divide_by_batch_as_rows_do():
    f = record(prepare(Residual(), (2, 3))).functional()
    ops = {x.op: x for x in f.ops}
    # two adds of 2x3 tensors: 12 outputs and 24 taps over the batch of 2
    assert ops["aten.add"].outputs == 3 * 2 and ops["aten.add"].connections == 3 * 2 * 2
    # w * w reads no batched tensor: it is counted once per example, not divided, no warning
    assert ops["aten.mul"].outputs == 3 and ops["aten.mul"].kind is Kind.ELEMENTWISE
    assert f.warnings == ()
