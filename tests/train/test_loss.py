"""The per-pixel loss: the starter's flattened cross-entropy, on a view when the logits are NHWC."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from train.loss import colour_choice, pixel_cross_entropy


def _logits(channels_last: bool, n: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(n, 24, 32, 32, generator=gen)
    return logits.to(memory_format=torch.channels_last) if channels_last else logits


@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_pixel_cross_entropy_is_the_starters_loss(channels_last, reduction, starter):
    logits = _logits(channels_last)
    target = torch.randint(0, 24, (3, 32, 32), generator=torch.Generator().manual_seed(1))
    got = pixel_cross_entropy(logits, target, reduction)
    # the starter: transpose(1, 3).contiguous().view(pixels, K) into nn.CrossEntropyLoss
    ref = starter._loss(nn.CrossEntropyLoss(reduction=reduction), logits, target[:, None])
    assert got.item() == pytest.approx(ref.item(), rel=1e-6)
    assert got.item() == pytest.approx(F.cross_entropy(logits, target, reduction=reduction).item())


def test_nchw_logits_take_the_four_dim_loss_unchanged():
    logits, target = _logits(False), torch.zeros(3, 32, 32, dtype=torch.long)
    assert torch.equal(pixel_cross_entropy(logits, target), F.cross_entropy(logits, target))


@pytest.mark.parametrize("channels_last", [True, False])
def test_the_gradient_keeps_the_logits_memory_format(channels_last):
    # NHWC logits get an NHWC gradient: the conv before them needs no layout copy
    logits = _logits(channels_last).requires_grad_()
    pixel_cross_entropy(logits, torch.ones(3, 32, 32, dtype=torch.long)).backward()
    assert logits.grad.is_contiguous(memory_format=torch.channels_last) is channels_last
    plain = logits.detach().contiguous().requires_grad_()
    F.cross_entropy(plain, torch.ones(3, 32, 32, dtype=torch.long)).backward()
    torch.testing.assert_close(logits.grad, plain.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_colour_choice_is_argmax_with_low_index_ties(dtype):
    logits = torch.randn(4, 24, 8, 8).to(dtype)
    logits[:, 5], logits[:, 9] = 10.0, 10.0  # exact ties: the lower index wins
    assert torch.equal(colour_choice(logits), logits.argmax(dim=1))
    assert (colour_choice(logits) == 5).all()
