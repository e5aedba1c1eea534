"""Bytes per op: the roofline's spy against an independent dispatch spy on a plain CPU forward.

The reference spy below is the issue's definition, written out: for every aten op of an
ordinary forward (no archcount machinery underneath), the sum of `untyped_storage().nbytes()`
of the distinct storages among its inputs, and among its outputs; a view op (its schema
aliases its output) moves nothing. archcount's trace of the same model on CPU must give the
same ops with the same bytes, in order; on a meta build too (batch norm's auxiliary outputs
aside, and for models whose own code runs the same ops there).
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from archcount.engine.walk import prepare
from archcount.roofline.trace import trace_ops
from models import ConvTransposeNet, PoolUpsampleNet, UNet
from tests.zoo.zoo_models import build


class Reference(TorchDispatchMode):
    """(op, bytes read, bytes written) of every aten op, by untyped_storage().nbytes()."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]

        def nbytes(ts):
            return sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                        for t in ts}.values())  # fmt: skip

        moved = (0, 0) if func.is_view else (
            nbytes(ins), nbytes(outs))  # fmt: skip
        self.ops.append((f"aten.{func.overloadpacket.__name__}", *moved))
        return out


def reference(model, args, kwargs):
    spy = Reference()
    with torch.no_grad(), spy:
        model(*args, **kwargs)
    return spy.ops


def traced(model, args, kwargs):
    prepared = prepare(model, None, args or None, torch.float32, None, kwargs, None)
    return [(o.op, o.bytes_read, o.bytes_written) for o in trace_ops(prepared, "m")]


def homework(cls, device, batch):
    torch.manual_seed(0)
    with torch.device(device):
        model = cls().eval()
        return model, (torch.randn(batch, 1, 32, 32),), {}


def zoo(name, device, batch):
    return build(name, device, batch, attention="eager")


# (how to build, what, whether the model's own code runs the same ops on meta: transformers'
# text models build their masks by another path there)
CASES = [
    (homework, PoolUpsampleNet, True),
    (homework, ConvTransposeNet, True),
    (homework, UNet, True),
    (zoo, "gpt2", False),
    (zoo, "bert", False),
    (zoo, "resnet", True),
]


@pytest.mark.parametrize(
    ("make", "what", "on_meta"), CASES, ids=lambda v: getattr(v, "__name__", str(v))
)
@pytest.mark.parametrize("batch", [1, 3])
def test_bytes_per_op_equal_the_storages_a_spy_sees(make, what, on_meta, batch):
    expected = reference(*make(what, "cpu", batch))
    assert expected and any(read for _, read, _ in expected)
    assert traced(*make(what, "cpu", batch)) == expected
    if not on_meta:
        return
    meta = traced(*make(what, "meta", batch))  # no data, the same ops and reads
    assert [(op, read) for op, read, _ in meta] == [(op, read) for op, read, _ in expected]
    # written too, but where meta's kernel returns what the CPU's leaves empty: batch norm's
    # saved mean and inverse std (C floats each), which the CPU returns empty in eval mode
    assert [x for x in meta if x[0] != BN] == [x for x in expected if x[0] != BN]


BN = "aten.native_batch_norm"
