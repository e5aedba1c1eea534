"""Element-wise ops' own rates: common aten ops timed on one generic, cache-sized tensor.

One pi for every element-wise op spans a 40× range on a CPU (a product vectorises; a max-pool
with indices, a nearest upsample or a layer norm do far less per element), so `calibrate`
times each of these common building blocks on a (1, 32, 32, 32) fp32 tensor (2^15 elements,
within a core's L2) and keeps, per aten op, its operations per second in the unit the time
model counts (ops.classified: one per element of its largest tensor), less tau. An op not
measured runs at the class's pi.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from archcount.roofline.hardware import OpClass
from archcount.roofline.ops import classified

Timer = Callable[[Callable[[], object], float, str], float]


def kernels(device: str) -> list[Callable[[], object]]:
    """The generic calls, on tensors made once: activations, norms, pools, resampling,
    reductions, copies, masks and lookups, as any network's layers call them."""
    x = torch.randn(1, 32, 32, 32, device=device)
    c = torch.ones(32, device=device)
    mask = torch.rand(1, 32, 32, 32, device=device) > 0.5
    ids = torch.randint(0, 512, (1024,), device=device)
    table = torch.randn(512, 32, device=device)
    return [
        lambda: torch.relu(x), lambda: F.gelu(x), lambda: F.silu(x), lambda: torch.tanh(x),
        lambda: torch.sigmoid(x), lambda: torch.pow(x, 2), lambda: torch.rsqrt(x),
        lambda: torch.add(x, x), lambda: torch.mul(x, x), lambda: torch.div(x, 3.0),
        lambda: torch.softmax(x, -1), lambda: F.layer_norm(x, (32,)),
        lambda: F.batch_norm(x, c, c, c, c, training=False),
        lambda: F.max_pool2d(x, 2), lambda: F.avg_pool2d(x, 2),
        lambda: F.interpolate(x, scale_factor=2),
        lambda: torch.mean(x, -1, keepdim=True), lambda: torch.cat((x, x), 1),
        lambda: x.transpose(1, 3).contiguous(), lambda: x.masked_fill(mask, 0.0),
        lambda: F.embedding(ids, table),
    ]  # fmt: skip


class _Ops(TorchDispatchMode):
    """(aten op, its element-wise work) of every op one call dispatches."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        op_class, work = classified(func, args, kwargs, out)
        if op_class is OpClass.ELEMENTWISE and not func.is_view:
            self.seen.append((f"aten.{func.overloadpacket.__name__}", work))
        return out


def main_op(fn: Callable[[], object]) -> tuple[str, int]:
    """The aten op doing a call's work (the most elements; the first of equals), and them."""
    spy = _Ops()
    with spy:
        fn()
    return max(spy.seen, key=lambda s: s[1])


def op_rates(device: str, budget: float, tau: float, timer: Timer) -> dict[str, float]:
    """Per aten op, operations per second beyond tau: work / (t - tau), at most 2 × work / t
    (a call hardly slower than tau is not measured finer than that)."""
    calls = kernels(device)
    rates: dict[str, float] = {}
    for fn in calls:
        name, work = main_op(fn)
        t = timer(fn, budget / len(calls), device)
        rates.setdefault(name, work / max(t - tau, t / 2))
    return rates
