"""Large models from plain nn modules for the scale benchmark and test (no torchvision)."""

from __future__ import annotations

import torch
from torch import nn


class Decoder(nn.Module):
    """GPT-style decoder: token + position embeddings, pre-norm causal encoder layers, tied head."""

    def __init__(self, vocab=50257, context=1024, width=1024, depth=24, heads=16):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                width,
                heads,
                4 * width,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.tok.weight  # tied, as in GPT-2: one parameter, counted once

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(t, device=ids.device))
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=ids.device)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.norm(x))


def gpt2_medium() -> Decoder:
    """~355M parameters (GPT-2 medium: width 1024, 24 layers, 16 heads)."""
    return Decoder(width=1024, depth=24, heads=16)


def decoder_1_3b() -> Decoder:
    """~1.3B parameters (GPT-3 XL shape: width 2048, 24 layers, 16 heads)."""
    return Decoder(width=2048, depth=24, heads=16)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 convs with BN and ReLU, plus the identity/projection skip."""

    def __init__(self, c_in: int, mid: int, stride: int):
        super().__init__()
        c_out = 4 * mid
        self.body = nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
        )  # fmt: skip
        self.skip = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))  # the residual add is functional


def resnet50_like(classes: int = 1000) -> nn.Sequential:
    """ResNet-50's layout: stem, [3, 4, 6, 3] bottlenecks, global pool, linear (~25.6M)."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]  # fmt: skip
    c_in = 64
    for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(c_in, mid, stride if i == 0 else 1))
            c_in = 4 * mid
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, classes)]
    return nn.Sequential(*layers)


# name -> (constructor, input shape, input dtype)
MODELS = {
    "resnet50-like": (resnet50_like, (1, 3, 224, 224), torch.float32),
    "gpt2-medium-like": (gpt2_medium, (1, 256), torch.long),
    "decoder-1.3b": (decoder_1_3b, (1, 256), torch.long),
}
