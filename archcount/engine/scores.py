"""Hand-written attention (q @ kᵀ, a mask, softmax, @ v): exact leaves out the masked scores.

Nominal connections are the two matmuls' own (engine.rules.linear): every score of L x S, d taps
for q.k and one per value channel for the weighted sum, as for F.scaled_dot_product_attention.
For exact, the forward is followed through tags on its tensors:

- a matmul of two activations (no parameter read) tags its output as scores (`_ac_q`, with d);
- the tag follows views, copies and element-wise ops; a mask met on the way is or-ed into the
  scores' blocked pattern: an add of entries <= MASKED_AT (-inf, the dtype's min, Swin's -100),
  `where(keep, scores, -inf)`, `masked_fill(blocked, -inf)`;
- softmax over the last dim turns scores into weights (`_ac_w`), which follow views and copies;
- a matmul of weights and values gives the blocked scores back: (d + dv) taps each (the q.k
  taps and the weighted sum's) are taken off the exact count of that matmul's row, where both
  matmuls of a block are counted (its aten.bmm row).

A mask is read from its values on CPU, from the shadows of engine.tags on meta; a mask whose
values are unknown on meta leaves exact = nominal for that block, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Number

import torch

from archcount.engine import tags
from archcount.engine.attention import MASKED_AT, blocked_mask, count_blocked
from archcount.engine.rules.storage import COPIES

aten = torch.ops.aten

MATMULS = {aten.bmm, aten.mm, aten.baddbmm}  # baddbmm(bias, q, kᵀ): Bloom's ALiBi scores
SOFTMAXES = {aten._softmax, aten.softmax, *(
    [aten._safe_softmax] if hasattr(aten, "_safe_softmax") else []
)}  # fmt: skip
# softcapping and scaling keep every score
_SCALE = {aten.mul, aten.div, aten.neg, aten.tanh, aten.mul_, aten.div_, aten.tanh_}
UNKNOWN = (
    "hand-written attention: a mask's values are unknown on meta: exact = nominal there "
    "(--device cpu)"
)


@dataclass(frozen=True)
class Scores:
    """Attention scores (or, after softmax, weights) and what masks removed from them."""

    taps: int  # d: the q.k taps of one score
    blocked: torch.Tensor | None  # bool, broadcastable to the tensor's shape; None: none
    unknown: bool = False  # a mask met on meta had unknown values


@dataclass(frozen=True)
class Followed:
    """What following one op found: connections exact leaves out (whole batch), a note."""

    taken: int = 0
    note: str | None = None


NOTHING = Followed()


def follow(func, args, kwargs, ins, outs) -> Followed:
    """Tag `outs` from `ins` (see the module doc); the blocked taps a weights @ values gives."""
    packet = func.overloadpacket
    if packet in MATMULS:
        return _matmul(ins, outs, added=packet is aten.baddbmm)
    tagged = next((t for t in ins if "_ac_q" in t.__dict__ or "_ac_w" in t.__dict__), None)
    if tagged is None:
        return NOTHING
    out = outs[0]
    weights = "_ac_w" in tagged.__dict__
    s: Scores = tagged.__dict__["_ac_w" if weights else "_ac_q"]
    if func.is_view or packet in COPIES or packet is aten._unsafe_view:
        _put(out, weights, _through(func, args, kwargs, tagged, s, out))
    elif weights:
        if packet in _SCALE:  # a head mask, a dtype cast's arithmetic
            _put(out, True, s)
    elif packet in SOFTMAXES:
        if _last_dim(args, tagged):
            _put(out, True, s)
    elif packet in _SCALE or packet in _MASKING:
        s = _masked(packet, args, kwargs, tagged, s)
        _put(out, False, s)
    return NOTHING


def _matmul(ins, outs, added: bool) -> Followed:
    bias, ins = (ins[0], ins[1:]) if added else (None, ins)
    if len(ins) != 2 or any(True for _ in tags.params_read(ins)):
        return NOTHING
    a, b = ins
    w = a.__dict__.get("_ac_w")
    if w is None:
        s = Scores(a.shape[-1], None)
        if bias is not None:  # the scores start with the bias added
            s = _masked(aten.add, (outs[0], bias), {}, outs[0], s)
        outs[0]._ac_q = s
        return NOTHING
    if w.unknown:
        return Followed(note=UNKNOWN)
    if w.blocked is None:
        return NOTHING
    return Followed(count_blocked(w.blocked, tuple(a.shape)) * (w.taps + b.shape[-1]))


def _put(out: torch.Tensor, weights: bool, s: Scores | None) -> None:
    if s is None:
        return
    out.__dict__.pop("_ac_q" if weights else "_ac_w", None)
    out.__dict__["_ac_w" if weights else "_ac_q"] = s


def _last_dim(args, x: torch.Tensor) -> bool:
    dim = args[1] if len(args) > 1 else -1
    return isinstance(dim, int) and dim % max(x.dim(), 1) == x.dim() - 1


def _through(func, args, kwargs, tagged, s: Scores, out) -> Scores | None:
    """The same storage op on the blocked pattern (None: the tag is dropped)."""
    if s.blocked is None:
        return s
    full = s.blocked.expand(tagged.shape)
    swapped = tuple(full if a is tagged else _cpu(a) for a in args)
    try:
        moved = func(*swapped, **{k: _cpu(v) for k, v in (kwargs or {}).items()})
    except RuntimeError:  # a view an expanded pattern cannot take: the same elements, reshaped
        moved = full.reshape(out.shape) if out.numel() == full.numel() else None
    if not isinstance(moved, torch.Tensor) or moved.shape != out.shape:
        return None
    return Scores(s.taps, moved.to(torch.bool), s.unknown)


def _cpu(a):
    if isinstance(a, torch.device):
        return torch.device("cpu")
    if isinstance(a, torch.dtype):
        return torch.bool
    return a


def _masked(packet, args, kwargs, scores: torch.Tensor, s: Scores) -> Scores:
    """`s` after one element-wise op on the scores: a mask's blocked entries or-ed in."""
    got = _MASKING.get(packet)
    if got is None:
        return s
    new, unknown = got(args, kwargs, scores)
    if unknown:
        return Scores(s.taps, s.blocked, True)
    if new is None or not bool(new.any()):
        return s
    blocked = new if s.blocked is None else s.blocked | new
    return Scores(s.taps, blocked, s.unknown)


def _read(t) -> tuple[torch.Tensor | None, bool]:
    """(values, unknown): a number or tensor's values; unknown when a mask may hide there."""
    if isinstance(t, Number):
        return torch.tensor(t), False
    if not isinstance(t, torch.Tensor):
        return None, False
    real = tags.values(t)
    if real is None:
        return None, not tags.finite(t)
    return real, False


def _added(args, kwargs, scores):
    other = args[1] if args[0] is scores else args[0]
    vals, unknown = _read(other)
    if vals is None or vals.dtype == torch.bool:
        return None, unknown
    return blocked_mask(vals, True), False


def _subtracted(args, kwargs, scores):
    if args[0] is not scores:
        return None, False
    vals, unknown = _read(args[1])
    return (None if vals is None else vals >= -MASKED_AT), unknown


def _where(args, kwargs, scores):
    cond, a, b = args[0], args[1], args[2]
    c, unknown_c = _read(cond)
    other = b if a is scores else a
    o, unknown_o = _read(other)
    if c is None or o is None:
        return None, unknown_c or unknown_o
    blocked = blocked_mask(o, True) if o.dtype != torch.bool else torch.zeros((), dtype=torch.bool)
    return (blocked & ~c if a is scores else blocked & c), False


def _fill(args, kwargs, scores):
    if args[0] is not scores:
        return None, False
    value = args[2] if len(args) > 2 else kwargs.get("value")
    v, unknown_v = _read(value)
    if v is None or not bool(blocked_mask(v, True).all()):
        return None, unknown_v
    m, unknown = _read(args[1])
    return m, unknown


_MASKING = {
    aten.add: _added,
    aten.add_: _added,
    aten.sub: _subtracted,
    aten.sub_: _subtracted,
    aten.where: _where,
    aten.masked_fill: _fill,
    aten.masked_fill_: _fill,
}
