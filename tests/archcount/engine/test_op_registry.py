"""The aten-op registry: packets, storage, duplicates, user overrides, failing rules, modes."""

from math import prod

import pytest
import torch
import torch.nn.functional as F

from archcount.engine.rules import OP_RULES, op_rule
from archcount.engine.walk import prepare
from archcount.errors import RuleError
from archcount.recording import record
from archcount.records import Kind

aten = torch.ops.aten

STORAGE = [  # the ops the old name table called storage: still "not arithmetic"
    "_unsafe_view", "view", "reshape", "clone", "contiguous", "_to_copy", "copy", "copy_",
    "detach", "alias", "lift_fresh", "lift_fresh_copy", "index", "index_select", "gather",
    "select", "slice", "narrow", "repeat", "flip", "roll", "tril", "triu", "fill", "fill_",
    "zero_", "constant_pad_nd", "split", "split_with_sizes", "unbind", "empty_like",
    "zeros_like", "ones_like", "full_like", "new_empty", "new_zeros", "new_ones", "new_full",
    "scalar_tensor", "masked_fill", "masked_fill_", "where", "native_dropout", "dropout",
    "bernoulli_", "_local_scalar_dense", "slice_scatter", "select_scatter", "index_put",
    "index_put_", "scatter", "scatter_", "unfold", "pad",
]  # fmt: skip


@pytest.mark.parametrize("name", STORAGE)
def test_storage_ops_are_registered_as_not_arithmetic(name):
    rule = OP_RULES.lookup(getattr(aten, name))
    assert rule is not None and rule.fn is None


def test_lookup_by_overload_and_duplicates_refused():
    assert OP_RULES.lookup(aten.mm.default) is OP_RULES.lookup(aten.mm)
    assert aten.trace not in OP_RULES
    with pytest.raises(RuleError):
        op_rule(aten.mm)(lambda a, out: 0)


def test_merged_is_a_copy():
    mine = OP_RULES.merged({aten.trace: lambda a, out: prod(out)})
    assert aten.trace in mine and aten.trace not in OP_RULES
    assert mine.lookup(aten.trace).kind is Kind.LAYER


def _only(f):
    (x,) = f.ops
    return x


def test_user_op_rule_sees_shapes(functional_net):
    seen = []

    def cumsum(a, out):
        seen.append((a, out))
        return prod(out)

    with torch.device("meta"):
        net = functional_net(lambda x: x.cumsum(1))
        f = record(prepare(net, (1, 2, 4, 4), op_rules={aten.cumsum: cumsum})).functional()
    assert seen == [({"self": (1, 2, 4, 4), "dim": 1, "dtype": None}, (1, 2, 4, 4))]
    assert (_only(f).connections, f.unknown) == (32, ())


def test_op_rule_that_raises_is_unknown_with_a_warning(functional_net):
    with torch.device("meta"):
        net = functional_net(lambda x: x.cumsum(1))
        f = record(prepare(net, (1, 2, 4, 4), op_rules={aten.cumsum: lambda a, o: 1 // 0}))
        f = f.functional()
    assert _only(f).connections is None and _only(f).outputs == 32
    assert f.unknown == ("aten.cumsum",)
    (w,) = f.warnings
    assert "Functional: aten.cumsum" in w and "ZeroDivisionError" in w


def test_op_rule_returning_garbage_is_a_rule_error(functional_net):
    with pytest.raises(RuleError, match=r"aten.cumsum"), torch.device("meta"):
        net = functional_net(lambda x: x.cumsum(1))
        record(prepare(net, (1, 2, 4, 4), op_rules={aten.cumsum: lambda a, o: -3})).functional()


def _interp(**kw):
    return lambda x: F.interpolate(x, **kw)


MODES = [  # call, input shape, op, taps per output
    (_interp(scale_factor=2), (1, 2, 5), "aten.upsample_nearest1d", 1),
    (_interp(scale_factor=2), (1, 1, 2, 2, 2), "aten.upsample_nearest3d", 1),
    (
        _interp(scale_factor=2, mode="nearest-exact"),
        (1, 2, 3, 3),
        "aten._upsample_nearest_exact2d",
        1,
    ),
    (_interp(scale_factor=2, mode="linear"), (1, 2, 5), "aten.upsample_linear1d", 2),
    (
        _interp(scale_factor=2, mode="linear", align_corners=True),
        (1, 2, 5),
        "aten.upsample_linear1d",
        2,
    ),
    (_interp(scale_factor=2, mode="bilinear"), (1, 2, 3, 3), "aten.upsample_bilinear2d", 4),
    (_interp(scale_factor=2, mode="bicubic"), (1, 2, 3, 3), "aten.upsample_bicubic2d", 16),
    (_interp(scale_factor=2, mode="trilinear"), (1, 1, 2, 2, 2), "aten.upsample_trilinear3d", 8),
    (
        _interp(scale_factor=2, mode="bilinear", antialias=True),
        (1, 2, 3, 3),
        "aten._upsample_bilinear2d_aa",
        4,
    ),
    (
        _interp(scale_factor=2, mode="bicubic", antialias=True),
        (1, 2, 3, 3),
        "aten._upsample_bicubic2d_aa",
        16,
    ),
]


@pytest.mark.parametrize(("call", "shape", "op", "taps"), MODES, ids=[m[2] for m in MODES])
def test_interpolate_modes_by_hand(call, shape, op, taps, functional_net):
    out = call(torch.zeros(shape))
    with torch.device("meta"):
        x = _only(record(prepare(functional_net(call), shape)).functional())
    assert (x.op, x.outputs, x.connections) == (op, out.numel(), out.numel() * taps)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_shrinking_with_antialias_is_unknown_never_an_error(mode, functional_net):
    with torch.device("meta"):
        net = functional_net(_interp(scale_factor=0.5, mode=mode, antialias=True))
        f = record(prepare(net, (1, 2, 4, 4))).functional()
    assert _only(f).connections is None and _only(f).outputs == 8
    assert f.unknown == (f"aten._upsample_{mode}2d_aa",)


POOLS = [  # call, input shape, op, connections by hand
    (lambda x: F.max_pool1d(x, 2), (1, 2, 6), None, 6 * 2),
    (lambda x: F.avg_pool1d(x, 3, 1), (1, 2, 6), None, 8 * 3),
    (lambda x: F.max_pool3d(x, 2), (1, 1, 4, 4, 4), "aten.max_pool3d_with_indices", 8 * 8),
    (lambda x: F.avg_pool3d(x, 2), (1, 1, 4, 4, 4), "aten.avg_pool3d", 8 * 8),
    # 5 -> 3 rows: windows 2, 3, 2; 4 -> 1 columns: 4
    (lambda x: F.adaptive_avg_pool2d(x, (3, 1)), (1, 1, 5, 4), None, 28),
    (lambda x: F.adaptive_max_pool2d(x, (3, 1)), (1, 1, 5, 4), "aten.adaptive_max_pool2d", 28),
    (lambda x: F.adaptive_avg_pool3d(x, (3, 1, 1)), (1, 1, 5, 4, 2), None, 7 * 8),
]


@pytest.mark.parametrize(("call", "shape", "op", "expected"), POOLS)
def test_pool_ops_bind_their_dims(call, shape, op, expected, functional_net):
    with torch.device("meta"):
        x = _only(record(prepare(functional_net(call), shape)).functional())
    assert x.connections == expected
    assert op is None or x.op == op
