"""The nets the training-cost tests price (factory, per-example input, freeze globs), and the
independent routes to the truth: FlopCounterMode, saved-tensor hooks, MemTracker."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed._tools.mem_tracker import MemTracker
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from archcount.training.options import Optimizer
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


OPTIMIZERS = {
    Optimizer.SGD: lambda p: torch.optim.SGD(p, lr=0.1),
    Optimizer.MOMENTUM: lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    Optimizer.ADAM: lambda p: torch.optim.Adam(p),
    Optimizer.ADAMW: lambda p: torch.optim.AdamW(p),
}


def flop_route(case: str, batch: int = 2):
    """FlopCounterMode around a forward and loss.backward() on meta: fwd, bwd, per module."""
    model, x, freeze = build(case, batch=batch)
    frozen(model, freeze).train()
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x)
        forward = counter.get_total_flops()
        out.float().sum().backward()
    per = {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}
    return forward, counter.get_total_flops() - forward, per


def hooks_route(case: str, dtype=torch.float32, device: str = "cpu", batch: int = 2) -> int:
    """A real forward (CPU: storages by address; meta: by storage), parameters and buffers apart.

    SDPA runs its math backend, as on meta (the CPU's flash kernel saves logsumexp instead of
    the attention weights: the pass prices the math backend, see archcount.training.trace).
    """
    model, x, freeze = build(case, device, dtype, batch)
    frozen(model, freeze).train()
    key = (lambda s: s.data_ptr()) if device == "cpu" else (lambda s: s._cdata)
    resident = {key(t.untyped_storage()) for t in (*model.parameters(), *model.buffers())}
    storages: dict[int, int] = {}
    kept = []

    def pack(t):
        kept.append(t)  # alive until the end: no address is reused
        s = t.untyped_storage()
        if key(s) not in resident:
            storages[key(s)] = s.nbytes()
        return t

    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        sdpa_kernel(SDPBackend.MATH),
    ):
        model(x)
    return sum(storages.values())


def tracked_peak(case: str, batch: int, optimizer: Optimizer) -> tuple[int, int]:
    """MemTracker's peak over a second training step (the first made the optimizer state)."""
    model, x, freeze = build(case, batch=batch)
    frozen(model, freeze).train()
    with torch.device("meta"):
        y = torch.zeros(batch, *x.shape[2:], dtype=torch.long)
    opt = OPTIMIZERS[optimizer]([p for p in model.parameters() if p.requires_grad])

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    tracker = MemTracker()
    tracker.track_external(model, opt, x, y)
    with tracker:
        step()
    peak = tracker.get_tracker_snapshot("peak")[torch.device("meta")]["Total"]
    return peak, y.numel() * y.element_size()
