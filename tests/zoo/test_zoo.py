"""The zoo: real transformers architectures, small, counted on meta (and CPU for a few).

Each model asserts the contracts on a real architecture: the weights are the unique
parameters, no row is unknown, FlopCounterMode's MACs (on meta) are explained exactly by our
rows recomputed under its convention, and batch 2 gives the same per-example totals as
batch 1. Each also runs on CPU, where attention and recurrent kernels are fused and masks
have values, and must give identical totals; transformers' hand-written ("eager") attention
must give the same attention counts as its SDPA. Skipped when transformers is not installed.
"""

import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))  # zoo_models beside this file

from zoo_models import ZOO, build, counted

import archcount
from archcount.peers.crosscheck import cross_check
from archcount.peers.flopcounter import PEER

NAMES = list(ZOO)
# the models whose attention transformers also writes by hand (its "eager" implementation)
ATTENTION = ["gpt2", "bert", "llama", "mistral", "t5", "bloom", "bart", "whisper", "vit", "swin"]


def _totals(report):
    t = report.totals
    return t.weights, t.outputs, t.connections, t.connections_exact


@pytest.mark.parametrize("name", NAMES)
def test_weights_are_the_unique_parameters(name):
    model, *_, report = counted(name)
    assert report.totals.weights == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_no_row_is_unknown(name):
    *_, report = counted(name)
    unknown = [(r.name, r.type) for r in report.layers if r.connections is None]
    assert unknown == [], report.warnings


# FlopCounterMode cannot run these on meta (archcount answers their .item() from its shadows)
FLOPCOUNTER_FAILS_ON_META = {"bart": "Tensor.item() cannot be called on meta tensors"}


@pytest.mark.parametrize("name", NAMES)
def test_flopcounter_macs_explained_exactly(name):
    model, args, kwargs, report = counted(name)
    got = cross_check(report, model, args, kwargs=kwargs, meta=(model, args, kwargs), peers=(PEER,))
    if name in FLOPCOUNTER_FAILS_ON_META:
        assert got.checks == ()
        assert got.skipped == (f"FlopCounterMode: failed: {FLOPCOUNTER_FAILS_ON_META[name]}",)
        return
    (check,) = got.checks
    assert check.theirs > 0
    assert check.explained, [(d.layer, d.type, d.ours, d.expected, d.why) for d in check.diffs]


@pytest.mark.parametrize("name", NAMES)
def test_batch_two_gives_the_same_per_example_totals(name):
    *_, one = counted(name)
    *_, two = counted(name, batch=2)
    assert _totals(two) == _totals(one)
    assert not [w for w in two.warnings if "multiple of the batch" in w]


@pytest.mark.parametrize("name", NAMES)
def test_cpu_totals_equal_meta_totals(name):
    *_, meta = counted(name)
    *_, cpu = counted(name, "cpu")
    assert _totals(cpu) == _totals(meta)
    assert cpu.warnings == meta.warnings == ()


def _attention(report):
    """(nominal, exact) connections of the attention rows: SDPA calls or q.k / weights matmuls."""
    rows = [r for r in report.layers if r.type in ("scaled_dot_product_attention", "aten.bmm")]
    return sum(r.connections for r in rows), sum(r.connections_exact for r in rows)


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", ATTENTION)
def test_hand_written_attention_counts_as_sdpa(name, device):
    """transformers' eager attention (matmul, mask, softmax, matmul) gives SDPA's scores."""
    *_, sdpa = counted(name, device)
    model, args, kwargs = build(name, device, attention="eager")
    eager = archcount.count(model, example_input=args or None, example_kwargs=kwargs)
    assert _attention(eager) == _attention(sdpa)
    assert eager.warnings == ()
    if device == "meta":  # its softmax, mask adds and scaling are outside FlopCounterMode's MACs
        (check,) = cross_check(
            eager, model, args, kwargs=kwargs, meta=(model, args, kwargs), peers=(PEER,)
        ).checks
        assert check.explained, [(d.layer, d.ours, d.expected, d.why) for d in check.diffs]


def test_swin_shifted_window_mask_leaves_out_its_minus_100_scores():
    """Brute force: the shifted block's own mask, its -100 entries, times heads and taps."""
    *_, report = counted("swin")
    cpu_model, *_ = build("swin", "cpu")
    shifted = [b for b in cpu_model.encoder.layers[0].blocks if b.shift_size > 0]
    (block,) = shifted
    side = 32 // 4  # image / patch
    mask = block.get_attn_mask(side, side, torch.float32, "cpu")  # (windows, ws², ws²), 0 or -100
    blocked = int((mask == -100).sum())
    heads = cpu_model.config.num_heads[0]  # stage 1
    head_dim = cpu_model.config.embed_dim // heads
    nominal, exact = _attention(report)
    assert blocked > 0
    assert nominal - exact == heads * blocked * 2 * head_dim
