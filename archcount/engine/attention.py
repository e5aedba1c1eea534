"""Attention counted at its call, before it decomposes: nominal and exact scores.

Nominal connections count every score of the L x S matrix: d taps for q.k and, for the
weighted values, one tap per score and value channel: N*H*L*S*(d + dv). Exact ones leave out
the scores a mask removes (is_causal=True, a boolean mask, -inf or anything <= -50 added), as
padding taps are left out of a convolution's exact count: N*H*A*(d + dv), A the kept scores.
A mask's values are read on CPU; on meta, from the values computed beside the run for small
constant tensors (engine.tags), else exact is nominal and a note says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from archcount.engine import tags
from archcount.engine.stack import COVERED, COVERS_ALL


@dataclass(frozen=True)
class AttentionCount:
    """One attention call, whole batch."""

    label: str
    outputs: int
    nominal: int
    exact: int
    note: str | None = None  # why exact could not be told from the mask


UNKNOWN_MASK = "attention mask values unknown on meta: exact attention = nominal (--device cpu)"


def causal_kept(target: int, source: int) -> int:
    """Scores kept by is_causal (torch's top-left tril): sum over l < L of min(l + 1, S)."""
    full = min(target, source)
    return full * (full + 1) // 2 + (target - full) * source


# An additive mask entry at or below this masks its score: e**-50 ~ 2e-22, no weight in any
# float against an unmasked score. Swin's -100, BERT's -10000, the dtype's min and -inf mask;
# a learned position bias (a few units) does not.
MASKED_AT = -50.0


def blocked_mask(mask: torch.Tensor, allowed_when_true: bool) -> torch.Tensor:
    """True where a score is masked out: a bool mask's False (or True), or <= MASKED_AT added."""
    if mask.dtype == torch.bool:
        return ~mask if allowed_when_true else mask
    return mask <= MASKED_AT  # -inf included; NaN is not a mask


def count_blocked(blocked: torch.Tensor, shape: tuple[int, ...]) -> int:
    """Blocked scores of `blocked` broadcast to `shape` (without building the broadcast)."""
    dims = (1,) * (len(shape) - blocked.dim()) + tuple(blocked.shape)
    factor = prod(n for n, m in zip(shape, dims) if m == 1 and n != 1)
    return int(blocked.sum()) * factor


def sdpa(args, kwargs, meta: bool) -> tuple[AttentionCount, bool]:
    """F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, ...)."""
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal")
    got = dict(zip(names, args)) | kwargs
    q, k, v = got["query"], got["key"], got["value"]
    mask, causal = got.get("attn_mask"), bool(got.get("is_causal", False))
    lead, tgt, src = tuple(q.shape[:-2]), q.shape[-2], k.shape[-2]
    taps = q.shape[-1] + v.shape[-1]
    heads = prod(lead)
    nominal = heads * tgt * src * taps
    kept, note = heads * tgt * src, None
    if causal:
        kept = heads * causal_kept(tgt, src)
    elif mask is not None:
        real = tags.values(mask)
        if real is not None:
            kept -= count_blocked(blocked_mask(real, True), (*lead, tgt, src))
        elif not tags.finite(mask):  # a learned bias (finite) masks nothing
            note = UNKNOWN_MASK
    batched = any(tags.is_batched(t) for t in (q, k, v))
    outputs = heads * tgt * v.shape[-1]
    return AttentionCount(
        "scaled_dot_product_attention", outputs, nominal, kept * taps, note
    ), batched


def mha(args, kwargs, meta: bool) -> tuple[AttentionCount, bool]:
    """F.multi_head_attention_forward: the scores its masks remove (the module rule counts it)."""
    names = ("query", "key", "value", "embed_dim_to_check", "num_heads")
    got = dict(zip(names, args)) | kwargs
    q, k, heads = got["query"], got["key"], got["num_heads"]
    batch = q.shape[1] if q.dim() == 3 else 1
    tgt, src, e = q.shape[0], k.shape[0], q.shape[-1]
    shape = (batch, heads, tgt, src)
    nominal = prod(shape) * 2 * (e // heads)
    masks = [_mha_attn_mask(got.get("attn_mask"), shape), _key_padding(got.get("key_padding_mask"))]
    masks = [m for m in masks if m is not False]
    note = None
    if any(m is None for m in masks):
        note = UNKNOWN_MASK
        blocked = 0
    elif masks:
        joined = masks[0] if len(masks) == 1 else masks[0] | masks[1]
        blocked = count_blocked(joined, shape)
    else:
        blocked = 0
    exact = nominal - blocked * 2 * (e // heads)
    batched = tags.is_batched(q)
    return AttentionCount("multi_head_attention", 0, nominal, exact, note), batched


def _mha_attn_mask(mask, shape):
    """(N, H, L, S)-broadcastable blocked scores of an attn_mask; False when none, None unknown."""
    if mask is None:
        return False
    real = tags.values(mask)
    if real is None:
        return False if tags.finite(mask) else None
    blocked = blocked_mask(real, False)
    if blocked.dim() == 3:  # (N*H, L, S)
        blocked = blocked.reshape(shape[0], shape[1], *blocked.shape[1:])
    return blocked


def _key_padding(mask):
    """(N, 1, 1, S) blocked scores of a key_padding_mask (True: ignore)."""
    if mask is None:
        return False
    real = tags.values(mask)
    if real is None:
        return None
    blocked = blocked_mask(real, False)
    return blocked.reshape(blocked.shape[0] if blocked.dim() == 2 else 1, 1, 1, blocked.shape[-1])


@dataclass(frozen=True)
class AttentionCall:
    """How one attention function is counted: `count`, and where.

    inside_rule False: in model code, counted whole (its aten ops are not recorded);
    True: only inside a module with a rule (nn.MultiheadAttention), for the masked scores.
    """

    count: object
    inside_rule: bool


ATTENTION_CALLS = {
    F.scaled_dot_product_attention: AttentionCall(sdpa, inside_rule=False),
    F.multi_head_attention_forward: AttentionCall(mha, inside_rule=True),
}


def _index_values(args, out) -> None:
    """On meta, x[..., [-1, 0]] of known values is known: the index list becomes a meta tensor
    below the dispatch layer, without values (transformers' pad_token_id in ids[:, [-1, 0]])."""
    known = tags.values(args[0])
    if known is None or not isinstance(out, torch.Tensor) or out.device.type != "meta":
        return
    index = args[1] if isinstance(args[1], tuple) else (args[1],)
    if any(isinstance(i, torch.Tensor) and tags.values(i) is None for i in index):
        return
    real = known[tuple(tags.values(i) if isinstance(i, torch.Tensor) else i for i in index)]
    tags.set_values(out, real)


# Functions whose aten ops are storage, run unrecorded: F.one_hot's CPU kernel checks the
# indices' range with an aminmax that meta skips (LongT5's block ids), not the model's work.
UNRECORDED = frozenset({F.one_hot})


class AttentionLayer(TorchFunctionMode):
    """The torch-function layer: attention calls counted before they decompose into aten ops
    (and UNRECORDED calls run without recording, their output's batch and values kept)."""

    def __init__(self, recorder) -> None:  # an engine.record.Recorder
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        call = ATTENTION_CALLS.get(func)
        rec = self.recorder
        if func in UNRECORDED and not rec.in_attention:
            return self._unrecorded(func, args, kwargs)
        if func is torch.Tensor.__getitem__ and rec.meta:
            out = func(*args, **kwargs)
            _index_values(args, out)
            return out
        if call is None or rec.in_attention or not rec.stack:
            return func(*args, **kwargs)
        role = rec.stack[-1].role
        # attention counted whole in model code; inside a rule's module only its masks matter
        if role is COVERS_ALL or (role is COVERED) is not (call.inside_rule):
            return func(*args, **kwargs)
        rec.in_attention += 1  # its aten ops, and the mask arithmetic of the count, unrecorded
        try:
            out = func(*args, **kwargs)
            count, batched = call.count(args, kwargs, rec.meta)
        finally:
            rec.in_attention -= 1
        rec.attention(count, batched)
        tags.mark_batched(tags.tensors(out, None), batched)
        return out

    def _unrecorded(self, func, args, kwargs):
        rec, x = self.recorder, args[0]
        rec.in_attention += 1
        try:
            out = func(*args, **kwargs)
            known = tags.values(x) if rec.meta else None
            if known is not None:  # on meta, its values as the CPU's (a mask built from it)
                tags.set_values(out, func(known, *args[1:], **kwargs))
        finally:
            rec.in_attention -= 1
        tags.mark_batched([out], tags.is_batched(x))
        return out
