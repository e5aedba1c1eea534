"""Mixture-of-experts: a router's bookkeeping and the experts' grouped matmul.

transformers' Mixtral experts sort the routed tokens, count them per expert (histc), and run
each group of rows against its own expert's matrix in one `torch._grouped_mm`. Expected
figures are by hand: every routed row does K multiply-adds per output, whatever its expert.
"""

import pytest
import torch
from torch import nn

import archcount

if not hasattr(torch, "_grouped_mm"):
    pytest.skip("this torch has no _grouped_mm", allow_module_level=True)

E, H, F, T, TOP = 4, 8, 12, 6, 2


class Experts(nn.Module):
    """Route T tokens to TOP of E experts; each expert an H -> F -> H pair of matrices."""

    def __init__(self):
        super().__init__()
        self.router = nn.Linear(H, E, bias=False)
        self.up = nn.Parameter(torch.randn(E, H, F))
        self.down = nn.Parameter(torch.randn(E, F, H))

    def forward(self, x):  # (1, T, H)
        tokens = x.view(-1, H)
        chosen = self.router(tokens).topk(TOP, dim=-1).indices.reshape(-1)  # (T*TOP,)
        order = chosen.argsort()
        rows = tokens[order // TOP]  # the routed copies, grouped by expert
        per_expert = torch.histc(chosen.float(), bins=E, min=0, max=E - 1)
        offs = per_expert.cumsum(0).to(torch.int32)
        hidden = torch._grouped_mm(rows, self.up, offs=offs)
        return torch._grouped_mm(torch.relu(hidden), self.down, offs=offs)


def test_grouped_mm_counts_every_routed_row_against_its_expert():
    torch.manual_seed(0)
    r = archcount.count(Experts(), (1, T, H))
    rows = {x.type: x for x in r.layers}
    routed = T * TOP
    assert rows["aten._grouped_mm"].connections == routed * F * H + routed * H * F
    assert r.totals.unknown == () and r.warnings == ()
    assert r.totals.weights == E * H + 2 * E * H * F


def test_grouped_mm_rule_matches_a_loop_over_the_groups():
    """Brute force: the same product as one mm per group, their MACs summed."""
    torch.manual_seed(1)
    a, b = torch.randn(10, H), torch.randn(E, H, F)
    offs = torch.tensor([3, 3, 7, 10], dtype=torch.int32)
    out = torch._grouped_mm(a, b, offs=offs)
    start, macs, parts = 0, 0, []
    for g, end in enumerate(offs.tolist()):
        parts.append(a[start:end] @ b[g])
        macs += (end - start) * H * F
        start = end
    torch.testing.assert_close(out, torch.cat(parts))
    rule = archcount.OP_RULES.lookup(torch.ops.aten._grouped_mm)
    assert rule.fn({"self": (10, H), "mat2": (E, H, F), "offs": (E,)}, tuple(out.shape)) == macs


def test_grouped_mm_counts_on_meta_as_on_cpu():
    """torch's meta _grouped_mm takes bf16 only; archcount answers its float32 call there."""
    got = {}
    for device in ("cpu", "meta"):
        with torch.device(device):
            torch.manual_seed(0)
            model = Experts()
        got[device] = archcount.count(model, (1, T, H)).totals
    assert got["meta"] == got["cpu"]
    assert got["meta"].unknown == ()


@pytest.mark.parametrize(
    ("a", "b", "offs"),
    [((10, H), (E, H, F), (E,)), ((E, 3, H), (E, H, F), None), ((3, 2 * H), (2 * H, F), (2,))],
)
def test_the_meta_answer_has_the_cpu_kernels_shape(a, b, offs):
    from archcount.engine.record import META_FALLBACKS

    ends = {(E,): [3, 3, 7, 10], (2,): [H, 2 * H]}.get(offs)
    cpu_offs = None if offs is None else torch.tensor(ends, dtype=torch.int32)
    cpu = torch._grouped_mm(torch.randn(a), torch.randn(b), offs=cpu_offs)
    meta_offs = None if offs is None else torch.zeros(offs, dtype=torch.int32, device="meta")
    args = (torch.zeros(a, device="meta"), torch.zeros(b, device="meta"))
    got = META_FALLBACKS[torch.ops.aten._grouped_mm.default](args, {"offs": meta_offs})
    assert (got.shape, got.dtype) == (cpu.shape, cpu.dtype)
