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
    assert rule.fn(((10, H), (E, H, F), (E,)), {}, tuple(out.shape)) == macs
