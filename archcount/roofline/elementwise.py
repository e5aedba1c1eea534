"""Element-wise ops' own rates: common aten ops timed on one generic, cache-sized tensor.

One pi for every element-wise op spans a 40× range on a CPU (a product vectorises; a max-pool
with indices, a nearest upsample or a layer norm do far less per element), so `calibrate`
times each of these common building blocks on a small and a large fp32 tensor (8,192 and
262,144 elements, within a core's L2) and keeps, per aten op, its rate and half_work on
t = tau + (work + half_work) / rate, work in the unit the time model counts (ops.classified:
one per element of its largest tensor). An op not measured runs at the class's pi.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from archcount.roofline.hardware import OpClass
from archcount.roofline.ops import classified

Timer = Callable[[Callable[[], object], float, str], float]


def kernels(device: str, batch: int = 1, side: int = 32) -> list[Callable[[], object]]:
    """The generic calls on (batch, 32, side, side) tensors made once: activations, norms,
    pools, resampling, reductions, copies, masks and lookups, as any network's layers call them."""
    x = torch.randn(batch, 32, side, side, device=device)
    c = torch.ones(32, device=device)
    mask = torch.rand(batch, 32, side, side, device=device) > 0.5
    ids = torch.randint(0, 512, (batch * side * side,), device=device)
    table = torch.randn(512, 32, device=device)
    return [
        lambda: torch.relu(x), lambda: F.gelu(x), lambda: F.silu(x), lambda: torch.tanh(x),
        lambda: torch.sigmoid(x), lambda: torch.pow(x, 2), lambda: torch.rsqrt(x),
        lambda: torch.add(x, x), lambda: torch.mul(x, x), lambda: torch.div(x, 3.0),
        lambda: torch.softmax(x, -1), lambda: F.layer_norm(x, (side,)),
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


def half_work(small: tuple[int, float], large: tuple[int, float], tau: float):
    """(rate, half_work) of t = tau + (work + half_work) / rate from two (work, seconds) points:
    the rate the large call's beyond tau (at least half its whole time: noise), half_work what
    the small call takes beyond its work at that rate (0 or more). Not the two points' slope:
    a noisy small call would make it any size."""
    (w1, t1), (w2, t2) = small, large
    rate = w2 / max(t2 - tau, t2 / 2)
    return rate, max(0.0, rate * (t1 - tau) - w1)


def op_rates(device: str, budget: float, tau: float, timer: Timer) -> dict[str, list[float]]:
    """Per aten op, [rate, half_work] fitted on a small and a large call of its kernel."""
    small, large = kernels(device, 1, 16), kernels(device, 8, 32)
    rates: dict[str, list[float]] = {}
    for few, many in zip(small, large):
        (name, w1), (_, w2) = main_op(few), main_op(many)
        t1 = timer(few, budget / len(small) / 2, device)
        t2 = timer(many, budget / len(small) / 2, device)
        rates.setdefault(name, list(half_work((w1, t1), (w2, t2), tau)))
    return rates
