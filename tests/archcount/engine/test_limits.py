"""Meta refuses what CPU refuses (issue 21 item 5): an embedding looked up past its table with
indices whose values are known on meta (positions from arange, archcount's own inputs) fails
as on CPU, with the CPU's message; the CLI says it in one line and exits 2."""

import subprocess
import sys

import pytest
import torch
from torch import nn

import archcount
from archcount.errors import ForwardError


class Positions(nn.Module):
    """GPT-2's wpe: one row per position, positions from arange(T)."""

    def __init__(self, positions: int = 8):
        super().__init__()
        self.wpe = nn.Embedding(positions, 4)

    def forward(self, x):
        return x + self.wpe(torch.arange(x.shape[1], device=x.device))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_positions_past_the_table_fail_alike(device):
    with torch.device(device):
        model = Positions()
    assert archcount.count(model, (1, 8, 4)).totals.weights == 32  # 8 positions fit
    with pytest.raises(ForwardError, match=r"layer wpe \(Embedding\).*index out of range in self"):
        archcount.count(model, (1, 9, 4))


def test_unknown_indices_on_meta_are_not_refused():
    """Indices a meta run cannot see (a buffer built on meta) stay unchecked, as before."""
    with torch.device("meta"):
        table = nn.Embedding(4, 2)
        ids = torch.zeros(1, 6, dtype=torch.long)  # on meta: no values
    assert archcount.count(table, example_input=ids).totals.weights == 8


def test_cli_says_it_in_one_line_with_exit_2():
    pytest.importorskip("transformers")
    code = "from archcount.cli import main; main()"
    args = ["hf:gpt2", "--arg", "n_layer=1", "--arg", "n_embd=32", "--arg", "n_head=2",
            "--input-shape", "2048"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "layer wpe (Embedding)" in lines[0] and "index out of range in self" in lines[0]
