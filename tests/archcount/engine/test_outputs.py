"""One meaning of the outputs column (issue 23 item 4): a row's outputs are the elements of the
tensors its module call returns, per example, whether a rule counts the row or its aten ops do.

The route to the truth is a forward hook on the same module, reading the numel of what it
returned, at batch 1 (so nothing is divided) and compared at other batches per example.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import archcount
from archcount.records import Kind, Source


class Swish(nn.Module):
    """x * sigmoid(x) + x, written out: element-wise, counted from its ops."""

    def forward(self, x):
        return x * torch.sigmoid(x) + x


class GeluTanh(nn.Module):
    """GELU's tanh approximation written out (nine element-wise ops)."""

    def forward(self, x):
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1 + torch.tanh(inner))


class HandRMSNorm(nn.Module):
    """transformers' LlamaRMSNorm, transcribed: for when transformers is not installed."""

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


class TwoOut(nn.Module):
    """Returns a batched tensor and a position table computed from arange (no batch)."""

    def forward(self, x):
        pos = torch.arange(x.shape[1], dtype=x.dtype)[:, None] * torch.ones(1, 4)
        return x * x.mean(-1, keepdim=True), torch.cos(pos)


def llama_rms_norm(d: int) -> nn.Module:
    llama = pytest.importorskip("transformers.models.llama.modeling_llama")
    return llama.LlamaRMSNorm(d)


NORMS = {
    "hf LlamaRMSNorm": llama_rms_norm,
    "nn.RMSNorm": nn.RMSNorm,
    "transcribed RMSNorm": HandRMSNorm,
}


def hooked_numel(model: nn.Module, module: nn.Module, x: torch.Tensor) -> int:
    """The elements `module` returns in one forward of `model`, read by a forward hook."""
    seen = []

    def hook(_m, _args, out):
        outs = out if isinstance(out, tuple) else (out,)
        seen.append(sum(t.numel() for t in outs))

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    (numel,) = seen
    return numel


def row_of(model: nn.Module, x_shape, convention: str):
    (row,) = (r for r in archcount.count(model, x_shape, convention=convention).layers)
    return row


@pytest.mark.parametrize("convention", ["units", "modules"])
@pytest.mark.parametrize("make", NORMS.values(), ids=NORMS)
def test_an_rms_norm_outputs_what_it_returns(make, convention):
    norm = make(256)
    model = nn.Sequential(norm)
    truth = hooked_numel(model, norm, torch.randn(1, 128, 256))
    assert truth == 128 * 256
    row = row_of(model, (1, 128, 256), convention)
    assert row.outputs == truth  # 32,768, not 65,664 (the old sum of its ops' results)
    assert row_of(model, (3, 128, 256), convention).outputs == truth  # per example


def test_the_ops_rms_norm_keeps_its_intermediates_in_its_connections():
    """Its mean (128 outputs of 256 reads) and the two products stay in its connections."""
    row = row_of(nn.Sequential(HandRMSNorm(256)), (1, 128, 256), "units")
    assert row.source is Source.OPS
    # mean: 256 reads per each of 128 outputs; x * rsqrt(.) and weight * (.): two reads each
    assert row.connections == 128 * 256 + 2 * (2 * 128 * 256)


@pytest.mark.parametrize("module", [Swish(), GeluTanh()], ids=["x*sigmoid(x)+x", "gelu-tanh"])
def test_an_elementwise_module_from_ops_outputs_what_it_returns(module):
    model = nn.Sequential(module)
    truth = hooked_numel(model, module, torch.randn(1, 8, 5, 7))
    row = row_of(model, (1, 8, 5, 7), "modules")
    assert row.source is Source.OPS and row.kind is Kind.ELEMENTWISE
    assert row.outputs == truth == 8 * 5 * 7  # not one tensor per op it ran
    assert row_of(model, (2, 8, 5, 7), "modules").outputs == truth
    assert row_of(model, (1, 8, 5, 7), "units").outputs == 0  # an activation under units


def test_each_returned_tensor_is_divided_by_the_batch_only_when_it_carries_it():
    module = TwoOut()
    model = nn.Sequential(module)
    truth = hooked_numel(model, module, torch.randn(1, 6, 4))  # 24 + a 6x4 position table
    assert truth == 48
    assert row_of(model, (1, 6, 4), "units").outputs == truth
    assert row_of(model, (5, 6, 4), "units").outputs == truth  # the table is not divided by 5


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 17))
def test_an_ops_row_outputs_its_output_at_any_shape(batch, tokens, width):
    norm = HandRMSNorm(width)
    model = nn.Sequential(norm)
    truth = hooked_numel(model, norm, torch.randn(1, tokens, width))
    assert row_of(model, (batch, tokens, width), "units").outputs == truth


def test_a_tiny_llamas_norm_rows_output_the_hidden_state():
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    )  # fmt: skip
    model = transformers.LlamaForCausalLM(config).eval()
    norm_type = type(llama_rms_norm(4))
    ids = torch.zeros(1, 16, dtype=torch.long)
    numel = {}

    def hook(name):
        def record(_m, _args, out):
            numel[name] = out.numel()

        return record

    hooks = [
        m.register_forward_hook(hook(name))
        for name, m in model.named_modules()
        if isinstance(m, norm_type)
    ]
    try:
        with torch.no_grad():
            model(ids)
    finally:
        for h in hooks:
            h.remove()
    report = archcount.count(model, example_input=ids)
    rows = {r.name: r.outputs for r in report.layers if r.type == "LlamaRMSNorm"}
    assert rows == numel and len(rows) == 5 and set(rows.values()) == {16 * 32}


@pytest.mark.parametrize("make", NORMS.values(), ids=NORMS)
def test_meta_counts_the_same_outputs(make):
    with torch.device("meta"):
        model = nn.Sequential(make(64))
    assert row_of(model, (2, 10, 64), "units").outputs == 10 * 64
