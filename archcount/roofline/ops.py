"""What one aten op moves and computes: bytes read and written, its class, dtype and MACs.

Bytes: each distinct storage among the op's input tensors once (read), each among its
outputs once (written), `untyped_storage().nbytes()` whole: a weight read by an op is read
once by it, a view of a larger tensor reads that tensor's storage. A view op (its schema
aliases its output to an input: view, t, expand, detach) moves nothing. MACs: PyTorch's own
FLOP formulas (torch.utils.flop_counter, halved) for GEMMs, convolutions and attention kernels;
any other op is element-wise, one operation per element of its largest tensor (a reduction or
a pool its input, an upsample its output; a gather its output, not its table).

Bytes touched (what the time model moves, not reported): per storage, the bytes its views in
the op show, at most the storage (a slice reads its slice); a gather's source (embedding,
index_select, gather, index, take) only the rows it gathers, as many bytes as its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

from archcount.roofline.hardware import OpClass

# The fused SDPA kernels of the CPU, which torch.utils.flop_counter has no formula for
_SDPA_CPU = ("_scaled_dot_product_flash_attention_for_cpu",)
# Ops that read rows of their first input at indices: they touch the rows, not the table
_GATHERS = frozenset(
    (torch.ops.aten.embedding, torch.ops.aten.index_select, torch.ops.aten.gather,
     torch.ops.aten.index, torch.ops.aten.take)
)  # fmt: skip


@dataclass(frozen=True)
class OpCost:
    """One op call, whole batch: where it ran, what it moved and computed."""

    row: str  # the time row: a module call's label, or 'owner (aten.op)' for a module's own code
    owner: str | None  # own-code ops: the module whose forward ran it (None: a module call's)
    op: str  # 'aten.mm', 'scaled_dot_product_attention' (the count's label)
    backward: bool
    op_class: OpClass
    dtype: str  # 'float32'
    macs: int
    bytes_read: int
    bytes_written: int
    touched: int | None = None  # bytes the time model moves (None: read plus written)
    view: bool = False  # a view op: moves nothing, costs a view's tau
    narrow: int = 0  # a GEMM's, forward convolution's or attention's smallest dimension (0: none)
    grouped: bool = False  # a forward convolution with groups > 1 (depthwise): its own rate

    @property
    def moved(self) -> int:
        """Bytes the time model charges: those touched, else read plus written."""
        return self.bytes_read + self.bytes_written if self.touched is None else self.touched


def tensors_of(obj) -> list[torch.Tensor]:
    """Every tensor in nested args, kwargs or outputs."""
    return [t for t in tree_leaves(obj) if isinstance(t, torch.Tensor)]


def storage_bytes(tensors) -> int:
    """Bytes of the distinct storages the tensors view, each once."""
    seen: dict[int, int] = {}
    for t in tensors:
        s = t.untyped_storage()
        seen.setdefault(s._cdata, s.nbytes())
    return sum(seen.values())


def moved(func, args, kwargs, out) -> tuple[int, int]:
    """(bytes read, bytes written) of one op call; (0, 0) for a view."""
    if func.is_view:
        return 0, 0
    return storage_bytes(tensors_of((args, kwargs))), storage_bytes(tensors_of(out))


def view_bytes(tensors) -> int:
    """Bytes the tensors show, per storage at most the storage (each distinct view once)."""
    views: dict[int, dict[tuple, int]] = {}
    caps: dict[int, int] = {}
    for t in tensors:
        s = t.untyped_storage()
        caps[s._cdata] = s.nbytes()
        key = (t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
        views.setdefault(s._cdata, {})[key] = t.numel() * t.element_size()
    return sum(min(caps[s], sum(v.values())) for s, v in views.items())


def touched(func, args, kwargs, out) -> int:
    """Bytes one op call touches: its views' bytes; a gather's source only its output's size."""
    if func.is_view:
        return 0
    ins, outs = tensors_of((args, kwargs)), tensors_of(out)
    if func.overloadpacket in _GATHERS and ins:
        gathered = min(view_bytes(ins[:1]), view_bytes(outs))
        return gathered + view_bytes(ins[1:]) + view_bytes(outs)
    return view_bytes(ins) + view_bytes(outs)


def dtype_of(ins, outs) -> str:
    """The name of the first floating dtype among outputs, then inputs ('float32' if none)."""
    for t in (*outs, *ins):
        if t.dtype.is_floating_point:
            return str(t.dtype).removeprefix("torch.")
    return "float32"


def attention_macs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> int:
    """Scores q·kᵀ and the weighted values: every query row times S keys, E + Ev taps each."""
    return prod(q.shape[:-1]) * k.shape[-2] * (q.shape[-1] + v.shape[-1])


def classified(func, args, kwargs, out) -> tuple[OpClass, int]:
    """The op's class and MACs, whole batch."""
    packet = func.overloadpacket
    name = packet.__name__
    formula = flop_registry.get(packet)
    if formula is not None:
        macs = formula(*args, **kwargs, out_val=out) // 2
        if "conv" in name:
            return OpClass.CONV, macs
        return (OpClass.ATTENTION if "attention" in name else OpClass.GEMM), macs
    if name.startswith(_SDPA_CPU):  # forward; its backward does the two products twice over
        q, k, v = tensors_of(args)[:3]
        return OpClass.ATTENTION, attention_macs(q, k, v) * (2 if "backward" in name else 1)
    if func.is_view:
        return OpClass.ELEMENTWISE, 0
    ins = tensors_of((args, kwargs))
    ins = ins[1:] if packet in _GATHERS else ins  # a gather reads rows, not its table
    return OpClass.ELEMENTWISE, max((t.numel() for t in (*ins, *tensors_of(out))), default=0)


def narrowest(func, args) -> int:
    """The smallest dimension of a GEMM (M, K, N), a forward convolution (per group: output
    channels, and input channels times taps) or a fused attention (L, S, E); 0 for other ops."""
    name = func.overloadpacket.__name__
    ts = tensors_of(args)
    if name in ("mm", "bmm", "addmm", "baddbmm") and len(ts) >= 2:
        a, b = ts[-2], ts[-1]
        return min(a.shape[-2], a.shape[-1], b.shape[-1])
    if name == "convolution" and len(args) == 9:
        w, transposed, groups = args[1], args[6], args[8]
        taps = prod(w.shape[2:])
        if transposed:  # weight (C_in, C_out / groups, kh, kw)
            return min(w.shape[1], w.shape[0] // groups * taps)
        return min(w.shape[0] // groups, w.shape[1] * taps)
    if name.startswith(_SDPA_CPU) and len(ts) >= 2:
        return min(ts[0].shape[-2], ts[1].shape[-2], ts[0].shape[-1])
    return 0


def is_grouped(func, args) -> bool:
    """Whether the op is a convolution with groups > 1 (a depthwise or grouped one)."""
    name = func.overloadpacket.__name__
    return name == "convolution" and len(args) == 9 and args[8] > 1


def op_cost(func, args, kwargs, out, row: str, owner: str | None, backward: bool) -> OpCost:
    """The OpCost of one aten op call charged to `row`."""
    op_class, macs = classified(func, args, kwargs, out)
    read, written = moved(func, args, kwargs, out)
    dtype = dtype_of(tensors_of((args, kwargs)), tensors_of(out))
    name = f"aten.{func.overloadpacket.__name__}"
    moves = touched(func, args, kwargs, out)
    narrow = 0 if backward else narrowest(func, args)
    grouped = not backward and is_grouped(func, args)
    return OpCost(
        row, owner, name, backward, op_class, dtype, macs, read, written, moves, func.is_view,
        narrow, grouped,
    )  # fmt: skip
