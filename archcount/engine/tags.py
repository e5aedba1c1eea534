"""Tags the recorded forward puts on tensors, in their __dict__, and reads back.

_ac_b  the tensor carries the batch (computed from a batched input): its counts divide by it
_ac_r  the tensor it was computed from element by element (x + 0.04 * x**3 is element-wise)
_ac_p  the parameter a view of it reads (self.cls_token.expand(...) reads cls_token)
_ac_s  on meta: the values of a small tensor computed from constants (a causal mask)
_ac_a  on meta: _ac_s is a pattern, not the values: finite unknowns were added to it as zeros
       (a learned position bias plus a causal mask): right about what is -inf or very negative
_ac_f  on meta: values unknown but finite (computed from parameters and known values only)
_ac_v  values the caller declares for a meta tensor it built (archcount's own example inputs)
_ac_t  on meta: _ac_s is exact beyond doubt: a factory's (arange) or a declared input's
       values, through views and copies only (what index-range checks may trust)
_ac_m  the output of a matrix product (through views): a 1-D parameter added to it is its bias
_ac_q  attention scores of hand-written attention, _ac_w their softmax (engine.scores)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from archcount.engine.rules.reduction import BINNED
from archcount.engine.rules.storage import COPIES  # an element-wise chain goes through them

aten = torch.ops.aten

# The largest constant tensor whose values are computed beside a meta run (masks are L x S).
SHADOW_LIMIT = 1 << 24
# Ops whose tensor argument gives only its shape and dtype (values are not read).
_SHAPE_ONLY = {
    aten.new_ones, aten.new_zeros, aten.new_full, aten.ones_like, aten.zeros_like,
    aten.full_like, aten.scalar_tensor,
}  # fmt: skip
# Ops that take their output's sizes as arguments (a batch read off another tensor's shape).
_SIZED = {aten.expand, aten.repeat, aten.new_ones, aten.new_zeros, aten.new_full, aten.new_empty}
_UNDEFINED = {aten.empty, aten.empty_like, aten.new_empty, aten.empty_strided}
# Ops through which an unknown finite operand leaves -inf and very negative entries as they are
# (a bias added, where(causal, bias, min), a masked_fill, a concatenation).
_ADDITIVE = {aten.add, aten.sub, aten.where, aten.masked_fill, aten.cat, aten.stack}
# Ops whose outputs are finite whatever their inputs hold (SwinV2's 16 * sigmoid(bias)).
_BOUNDED = {
    aten.sigmoid, aten.tanh, aten.softmax, aten._softmax, aten.sin, aten.cos, aten.erf,
    aten.hardtanh, aten.hardsigmoid,
}  # fmt: skip
TAGS = ("_ac_b", "_ac_r", "_ac_p", "_ac_s", "_ac_a", "_ac_f", "_ac_q", "_ac_w", "_ac_m", "_ac_t")
_PRODUCTS = {aten.mm, aten.bmm}


def tensors(args: Any, kwargs: Mapping | None) -> tuple[torch.Tensor, ...]:
    """The tensors in args (one level of lists/tuples inside) and kwargs values, in order."""
    out = []
    for a in _values(args, kwargs):
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(b for b in a if isinstance(b, torch.Tensor))
        elif isinstance(a, dict):
            out.extend(tensors(tuple(a.values()), None))
    return tuple(out)


def _values(args: Any, kwargs: Mapping | None) -> Iterator[Any]:
    if isinstance(args, torch.Tensor):
        yield args
    elif isinstance(args, (list, tuple)):
        yield from args
    elif isinstance(args, dict):
        yield from args.values()
    elif hasattr(args, "to_tuple"):  # transformers' ModelOutput
        yield from args.to_tuple()
    if kwargs:
        yield from kwargs.values()


def is_batched(t: torch.Tensor) -> bool:
    """True when `t` was computed from a batched input."""
    return bool(t.__dict__.get("_ac_b"))


def mark_batched(outs, batched: bool) -> None:
    """Tag `outs` as carrying the batch (when `batched`)."""
    if batched:
        for o in outs:
            if not isinstance(o, nn.Parameter):
                o._ac_b = True


def mark_inputs(inputs, batch: int) -> None:
    """The example inputs whose first size is the batch carry it; declared values are known."""
    for t in inputs:
        if t.dim() and t.shape[0] == batch:
            t._ac_b = True
        declared = t.__dict__.get("_ac_v")
        if declared is not None and t.device.type == "meta":
            t._ac_s = declared.clone()  # an in-place write in forward must not change it
            t._ac_t = True


def declare_values(t: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Say what a meta tensor `t` holds (`real`, on CPU), so masks made from it can be read."""
    if t.device.type == "meta" and real.shape == t.shape and real.numel() <= SHADOW_LIMIT:
        t._ac_v = real
    return t


def set_values(t: torch.Tensor, real: torch.Tensor) -> None:
    """On meta: `t` holds `real`, computed beside the run (as a shadow)."""
    if t.device.type == "meta" and real.shape == t.shape and real.numel() <= SHADOW_LIMIT:
        t._ac_s = real


def clear(inputs) -> None:
    """Remove our tags from the caller's tensors (values they declared stay)."""
    for t in inputs:
        for k in TAGS:
            t.__dict__.pop(k, None)


def propagate(func, ins, outs, batch: int, meta: bool, args, kwargs) -> bool:
    """Tag outs batched when an input is (a factory's output when its first size is the batch).

    Returns whether the op's tensors carry the batch; on meta, computes shadows of constants.
    """
    batched = carry_batch(func, ins, outs, batch)
    if func.overloadpacket in _PRODUCTS:
        outs[0]._ac_m = True
    if meta:
        _shadow(func, ins, outs, args, kwargs)
        if "_ac_s" in outs[0].__dict__ and _exact(func, ins, outs[0]):
            outs[0]._ac_t = True
    return batched


def carry_batch(func, ins, outs, batch: int) -> bool:
    """The batch part of propagate: tag outs batched when an input is; whether they are."""
    batched = any(t.__dict__.get("_ac_b") for t in ins)
    if not batched and batch > 1 and (not ins or func.overloadpacket in _SIZED):
        # torch.zeros(x.shape[0], ...) or ids.expand(x.shape[0], -1) carry the batch; arange(T)
        # or a (1, T) buffer do not
        o = outs[0]
        batched = o.dim() > 0 and o.shape[0] == batch and (not ins or ins[0].shape[:1] != (batch,))
        batched = batched or (bool(ins) and _grown_to(ins[0].shape, o.shape, batch))
    if batched and func.overloadpacket not in BINNED:  # a histogram's bins hold no batch
        for o in outs:  # nor does one number for the whole batch (Nystromformer's max)
            if not _among(o, ins) and (batch == 1 or o.numel() != 1):
                o._ac_b = True
    return batched


def _grown_to(before, after, batch: int) -> bool:
    """A size-1 (or new) dim grown to the batch, not only the leading one: XLNet's positions
    (2T, 1, d).expand(-1, B, -1)."""
    before = (1,) * (len(after) - len(before)) + tuple(before)
    return any(o == batch and i == 1 for i, o in zip(before, after))


def _exact(func, ins, out: torch.Tensor) -> bool:
    """A shadow beyond doubt: a factory's (arange(T)), or integers shifted or scaled by numbers
    (GPT-2's arange(T) + past_seen_tokens)."""
    if not ins:
        return True
    return (
        len(ins) == 1
        and "_ac_t" in ins[0].__dict__
        and func.overloadpacket in (aten.add, aten.sub, aten.mul)
        and not out.dtype.is_floating_point
    )


def _among(t: torch.Tensor, ins) -> bool:
    return any(t is i for i in ins)


def root(t: torch.Tensor) -> torch.Tensor:
    """The tensor `t` was computed from element by element (itself when none)."""
    return t.__dict__.get("_ac_r", t)


def set_root(outs, r: torch.Tensor | None, ins) -> None:
    """Outputs of an element-wise op on one root keep that root."""
    if r is None:
        return
    for o in outs:
        if not _among(o, ins):
            o._ac_r = r


def follow_views(func, ins, outs) -> None:
    """A storage op: its outputs read the parameter its input reads; copies keep the root."""
    if not ins:
        return
    src = ins[0]
    p = src if isinstance(src, nn.Parameter) else src.__dict__.get("_ac_p")
    keep_root = func.overloadpacket in COPIES
    product = src.__dict__.get("_ac_m")
    trusted = "_ac_t" in src.__dict__ and (func.is_view or keep_root)
    for o in outs:
        if _among(o, ins):
            continue
        if trusted and "_ac_s" in o.__dict__:
            o._ac_t = True
        if p is not None:
            o._ac_p = p
        if product:
            o._ac_m = True
        if keep_root:
            o._ac_r = root(src)


def is_bias_add(func, ins, outs) -> bool:
    """x @ W then + b, b a vector the batch does not reach: F.linear on a 3-D input at batch > 1
    (WavLM's attention), whose bias add addmm fuses at batch 1; a bias is not a connection."""
    if func.overloadpacket is not aten.add or len(ins) != 2:
        return False
    a, b = ins if ins[0].__dict__.get("_ac_m") else ins[::-1]
    return (
        "_ac_m" in a.__dict__
        and b.dim() == 1
        and b.shape[0] == outs[0].shape[-1]
        and not b.__dict__.get("_ac_b")  # one vector for every example (cat of q/k/v biases)
    )


def params_read(ins) -> Iterator[nn.Parameter]:
    """The parameters an op reads, directly or through views."""
    for t in ins:
        p = t if isinstance(t, nn.Parameter) else t.__dict__.get("_ac_p")
        if p is not None:
            yield p


def values(t: torch.Tensor) -> torch.Tensor | None:
    """What `t` holds as far as masking goes: itself on a real device; on meta its shadow
    (the values, or a pattern exact about -inf and very negative entries), None when unknown.
    """
    if t.device.type != "meta":
        return t
    if t.numel() == 0:  # nothing to know (a KV cache's empty start, torch.tensor([]))
        return torch.empty(t.shape, dtype=t.dtype)
    s = t.__dict__.get("_ac_s")
    if s is None or _stale(s):
        return None
    return s


def finite(t: torch.Tensor) -> bool:
    """On meta: `t`'s values are unknown but finite (a parameter, or computed from them)."""
    d = t.__dict__
    return isinstance(t, nn.Parameter) or "_ac_p" in d or "_ac_f" in d


def known_or_finite(t: torch.Tensor) -> bool:
    """On meta: `t`'s values are known (a shadow) or at least finite."""
    return values(t) is not None or finite(t)


def gives_finite(t: torch.Tensor) -> bool:
    """On meta: as an input of a layer, `t` leaves its outputs finite: known or finite values,
    or indices (DeBERTa's position_ids buffer into its position Embedding)."""
    return known_or_finite(t) or not t.dtype.is_floating_point


def mark_finite(outs) -> None:
    """On meta: `outs` were computed from finite or known values only (floats: an unknown
    bool or integer is never taken for a mask that blocks nothing)."""
    for o in outs:
        if (
            o.dtype.is_floating_point
            and not isinstance(o, nn.Parameter)
            and "_ac_s" not in o.__dict__
        ):
            o._ac_f = True


def _stale(s: torch.Tensor) -> bool:
    base = s._base if s._base is not None else s
    return "_ac_x" in base.__dict__


def _shadow(func, ins, outs, args, kwargs) -> None:
    """On meta, run `func` on CPU too when every input's values are known and the output small.

    An in-place op updates its input's shadow (or marks it, and every view of it, stale). An
    add, sub, where, masked_fill or cat with finite unknown operands (a learned bias) runs with
    zeros for them: the result is a pattern (_ac_a), exact about where the known operand masks.
    Other ops on known and finite values only give a finite result.
    """
    o = outs[0]
    packet = func.overloadpacket
    if packet in _UNDEFINED or o.numel() > SHADOW_LIMIT:
        return
    in_place = _among(o, ins)
    if packet in _SHAPE_ONLY:
        swap = {id(t): torch.empty(t.shape, dtype=t.dtype) for t in ins}
    else:
        swap = {id(t): values(t) for t in ins}
        unknown = [t for t in ins if swap[id(t)] is None]
        if unknown:
            if in_place:
                _mark_stale(o)
            elif len(unknown) < len(ins) and packet in _ADDITIVE and all(map(finite, unknown)):
                for t in unknown:  # zeros that take no memory (a broadcast scalar)
                    swap[id(t)] = torch.zeros((), dtype=t.dtype).expand(t.shape)
                _run_shadow(func, args, kwargs, swap, outs, pattern=True)
            elif packet in _BOUNDED or _gives_finite(unknown, swap, args):
                mark_finite(outs)
            return
    pattern = any(t.__dict__.get("_ac_a") for t in ins)
    if not _run_shadow(func, args, kwargs, swap, outs, pattern) and in_place:
        _mark_stale(o)


def _gives_finite(unknown, swap, args) -> bool:
    """An op's result is finite: its unknown inputs are finite or integers (an index buffer),
    and nothing it knows (a known tensor, a number) is -inf, inf or NaN."""
    if not all(finite(t) or not t.dtype.is_floating_point for t in unknown):
        return False
    known = [v for v in swap.values() if v is not None and v.dtype.is_floating_point]
    numbers = [a for a in args if isinstance(a, float)]
    return all(bool(torch.isfinite(v).all()) for v in known) and all(map(math.isfinite, numbers))


def _run_shadow(func, args, kwargs, swap, outs, pattern: bool) -> bool:
    try:
        real = func(*_swapped(args, swap), **_swapped_kw(kwargs, swap))
    except Exception:  # a kernel that will not run on CPU: the values stay unknown
        return False
    for r, m in zip(real if isinstance(real, (tuple, list)) else (real,), outs):
        if isinstance(r, torch.Tensor) and r.shape == m.shape:
            m._ac_s = r
            if pattern:
                m._ac_a = True
    return True


def _mark_stale(t: torch.Tensor) -> None:
    """An in-place write whose values are unknown: `t`'s shadow, and its views', are stale."""
    s = t.__dict__.get("_ac_s")
    if s is not None:
        base = s._base if s._base is not None else s
        base._ac_x = True


def _swap(a, swap):
    if isinstance(a, torch.Tensor):
        return swap[id(a)]
    if isinstance(a, (list, tuple)):
        return type(a)(_swap(b, swap) for b in a)
    if isinstance(a, torch.device):
        return torch.device("cpu")
    return a


def _swapped(args, swap) -> tuple:
    return tuple(_swap(a, swap) for a in args)


def _swapped_kw(kwargs, swap) -> dict:
    out = {k: _swap(v, swap) for k, v in kwargs.items()}
    if "device" in out:
        out["device"] = torch.device("cpu")
    return out


def kept_state(out: Any, depth: int = 5) -> Iterator[torch.Tensor]:
    """Tensors the model's output keeps inside objects (a KV cache), not as plain outputs."""
    seen: set[int] = set()

    def walk(obj: Any, level: int, in_object: bool) -> Iterator[torch.Tensor]:
        if level > depth or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            if in_object:
                yield obj
        elif isinstance(obj, (list, tuple)):
            for x in obj:
                yield from walk(x, level + 1, in_object)
        elif isinstance(obj, dict):
            for x in obj.values():
                yield from walk(x, level + 1, in_object)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (nn.Module, type)):
            for x in vars(obj).values():
                yield from walk(x, level + 1, True)

    yield from walk(out, 0, False)
