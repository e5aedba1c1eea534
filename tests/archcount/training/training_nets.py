"""Small nets of every kind the training-cost tests price: (factory, per-example input, freeze)."""

import torch
import torch.nn.functional as F
from torch import nn

from models import ConvTransposeNet, PoolUpsampleNet, UNet


class Attention(nn.Module):
    """Hand-written attention: q @ kᵀ, softmax, @ v (matmuls in forward, outside modules)."""

    def __init__(self, dim: int = 16, heads: int = 2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        p = (q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5).softmax(-1)
        return self.out((p @ v).transpose(1, 2).reshape(b, t, d))


class Sdpa(nn.Module):
    """F.scaled_dot_product_attention (causal), after a projection."""

    def __init__(self, dim: int = 16, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True).sum(1)


class Block(nn.Module):
    """A ResNet basic block: two 3×3 convs with BN, and the identity added back."""

    def __init__(self, c: int):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


def resnet(width: int = 8):
    """Stem (conv 7×7 s2, BN, ReLU, max-pool), two blocks, pooled head."""
    return nn.Sequential(
        nn.Sequential(
            nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        ),
        Block(width),
        Block(width),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, 10),
    )


def transformer(dim: int = 32):
    """Embedding-free encoder: two nn.TransformerEncoderLayer (MHA + MLP + LayerNorm), a head."""
    layer = nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, batch_first=True)
    return nn.Sequential(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False),
                         nn.Linear(dim, 8))  # fmt: skip


CASES = {
    "conv": (lambda: nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(6, 4, 3, stride=2)), (3, 12, 12), ()),
    "conv_transpose": (lambda: nn.Sequential(nn.ConvTranspose2d(3, 5, 4, 2, 1), nn.Tanh(),
                                             nn.ConvTranspose2d(5, 2, 3, 2, 1, 1)), (3, 6, 6), ()),
    "linear": (lambda: nn.Sequential(nn.Linear(10, 20), nn.GELU(), nn.Linear(20, 3)), (10,), ()),
    "matmul_3d": (lambda: nn.Sequential(nn.Linear(8, 12), nn.Linear(12, 4)), (5, 8), ()),
    "attention": (Attention, (6, 16), ()),
    "sdpa": (Sdpa, (6, 16), ()),
    "resnet_frozen_stem": (resnet, (3, 32, 32), ("0.*",)),
    "transformer": (transformer, (10, 32), ()),
    "transformer_frozen_first": (transformer, (10, 32), ("0.layers.0.*",)),
    "PoolUpsampleNet": (PoolUpsampleNet, (1, 32, 32), ()),
    "ConvTransposeNet": (ConvTransposeNet, (1, 32, 32), ()),
    "UNet": (UNet, (1, 32, 32), ()),
    "ConvTransposeNet_frozen_down": (ConvTransposeNet, (1, 32, 32), ("layer1.*", "layer2.*")),
}  # fmt: skip


def build(case: str, device: str = "meta", dtype=torch.float32, batch: int = 2):
    """(model, input, freeze globs) of a case, on `device` in `dtype`."""
    factory, shape, freeze = CASES[case]
    torch.manual_seed(0)
    with torch.device(device):
        model = factory().to(dtype)
        x = torch.randn(batch, *shape, dtype=dtype)
    return model, x, freeze


def frozen(model: nn.Module, globs) -> nn.Module:
    """`model` with requires_grad off for the parameters the globs name (the reference route)."""
    from fnmatch import fnmatchcase

    for name, p in model.named_parameters():
        if any(fnmatchcase(name, g) for g in globs):
            p.requires_grad_(False)
    return model
