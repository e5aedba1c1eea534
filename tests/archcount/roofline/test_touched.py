"""Bytes touched (the time model's): a slice its slice, a gather its rows; worked by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archcount.engine.walk import prepare
from archcount.roofline.hardware import Hardware, OpClass
from archcount.roofline.ops import OpCost, touched
from archcount.roofline.predict import op_time
from archcount.roofline.trace import trace_ops

aten = torch.ops.aten


def test_an_embedding_touches_its_rows_not_its_table():
    w, idx = torch.randn(1000, 16), torch.tensor([[1, 2, 3], [4, 5, 6]])
    out = aten.embedding.default(w, idx)
    # 6 rows of 16 fp32 gathered (384 B) + 6 int64 indices (48 B) + the 384 B written
    assert touched(aten.embedding.default, (w, idx), {}, out) == 384 + 48 + 384


def test_index_select_of_a_few_rows():
    x, idx = torch.randn(500, 4), torch.tensor([0, 7])
    out = aten.index_select.default(x, 0, idx)
    assert touched(aten.index_select.default, (x, 0, idx), {}, out) == 32 + 16 + 32


def test_a_slice_touches_its_slice_and_an_expand_at_most_its_storage():
    x = torch.randn(10, 8)
    s = x[2:4]  # 2 rows of 8 fp32 in a 320-byte storage
    assert touched(aten.clone.default, (s,), {}, s.clone()) == 64 + 64
    a, b = torch.randn(4, 8), torch.randn(8).expand(4, 8)  # b shows 128 B of a 32-byte storage
    assert touched(aten.add.Tensor, (a, b), {}, a + b) == 128 + 32 + 128
    assert touched(aten.t.default, (a,), {}, a.t()) == 0  # a view moves nothing


def test_the_same_view_twice_is_touched_once():
    a = torch.randn(4, 8)
    assert touched(aten.mul.Tensor, (a, a), {}, a * a) == 128 + 128


class Lookup(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 16)

    def forward(self, ids):
        return self.emb(ids)


def test_the_trace_reports_storage_bytes_and_times_touched_ones():
    ids = torch.tensor([[1, 2, 3, 4]])
    prepared = prepare(Lookup(), None, (ids,), torch.float32, None, {}, None)
    (op,) = [o for o in trace_ops(prepared, "m") if o.op == "aten.embedding"]
    assert op.bytes_read == 1000 * 16 * 4 + 4 * 8 and op.bytes_written == 4 * 16 * 4
    assert op.touched == 256 + 32 + 256
    hw = Hardware("toy", "cpu", {c.value: {"float32": 1e9} for c in OpClass}, 1e9,
                  {c.value: 1e-6 for c in OpClass}, "hand")  # fmt: skip
    # 544 B touched at 1e9 B/s (64,288 B of storage would be 64.3 µs) + tau 1 µs
    assert op_time(op, hw).predicted_s == pytest.approx(544e-9 + 1e-6)


def test_without_touched_bytes_the_time_moves_read_plus_written():
    op = OpCost("r", None, "aten.x", False, OpClass.ELEMENTWISE, "float32", 0, 600, 400)
    assert op.moved == 1_000
