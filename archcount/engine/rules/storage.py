"""Storage, not arithmetic: views, copies, casts, padding, indexing, concatenation.

They add no connections in the count (their rule is None, or cat's copies tallied apart as a
view); in the receptive field, views and copies that keep the spatial dims keep the field,
padding and cropping shift it, and a concatenation along channels unites its inputs'.
"""

from __future__ import annotations

from math import prod

from torch import nn

from archcount.engine.rules.field import Field
from archcount.engine.rules.registry import (
    FIELD_RULES,
    OP_RULES,
    RULES,
    Role,
    aten,
    identity,
    present,
)
from archcount.records import Kind

# Ops whose output holds its input's values (a copy or cast of a weight is still that weight;
# of scores, still those scores; of an element-wise root, still that root).
COPIES = frozenset(
    {aten._to_copy, aten.clone, aten.contiguous, aten.detach, aten.alias, aten.lift_fresh,
     aten.lift_fresh_copy}
)  # fmt: skip

RULES.add(
    [
        nn.Identity, nn.Flatten, nn.Unflatten, nn.PixelShuffle, nn.PixelUnshuffle,
        nn.ChannelShuffle, nn.modules.padding._ConstantPadNd,
        nn.modules.padding._ReflectionPadNd, nn.modules.padding._ReplicationPadNd,
        nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d,
    ],
    kind=Kind.VIEW,
)  # fmt: skip
OP_RULES.add(
    [
        *COPIES, aten._unsafe_view, aten.view, aten.reshape, aten.copy, aten.copy_,
        aten.index, aten.index_select, aten.gather, aten.select, aten.slice, aten.narrow,
        aten.repeat, aten.flip, aten.roll, aten.tril, aten.triu, aten.fill, aten.fill_,
        aten.zero_, aten.constant_pad_nd, aten.split, aten.split_with_sizes, aten.unbind,
        aten.empty_like, aten.zeros_like, aten.ones_like, aten.full_like, aten.new_empty,
        aten.new_zeros, aten.new_ones, aten.new_full, aten.scalar_tensor, aten.masked_fill,
        aten.masked_fill_, aten.where, aten.native_dropout, aten.dropout, aten.bernoulli_,
        aten._local_scalar_dense, aten.slice_scatter, aten.select_scatter, aten.index_put,
        aten.index_put_, aten.scatter, aten.scatter_, aten.unfold, aten.pad,
        aten.uniform_, aten.normal_, aten.random_, aten.exponential_, aten.geometric_,
        aten.cauchy_, aten.log_normal_, aten.multinomial,  # random draws (BigBird's blocks)
        *present("_reshape_alias", "_assert_tensor_metadata"),
        # copies of input units: F.pad's reflect / replicate / circular, nn.Unfold's columns,
        # the indices of nonzero (a MoE's routing), a packed sequence's rows
        *present("reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
                 "replication_pad1d", "replication_pad2d", "replication_pad3d",
                 "_pad_circular", "_pad_enum"),
        aten.im2col, aten.nonzero, aten.argwhere, aten._pack_padded_sequence,
        *present("_pad_packed_sequence", "nonzero_static"),
    ],
    kind=Kind.VIEW,
)  # fmt: skip
# cat/stack copy each input unit once: a view in both conventions (adds nothing), but the
# copies are tallied, so that those into a kept state show as cache copies (engine.record)
OP_RULES.add([aten.cat, aten.stack], lambda a, out: prod(out), kind=Kind.VIEW)


@FIELD_RULES.register(
    aten.constant_pad_nd,
    *present("reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d",
             "replication_pad2d", "replication_pad3d", "_pad_circular")
)  # fmt: skip
def pad(a, out, dims):
    """Output i reads input i − before (the pad list runs from the last dim, before/after)."""
    pads = list(a.get("pad", a.get("padding")))
    before = [pads[2 * i] for i in range(len(pads) // 2)][::-1]  # first spatial dim first
    return tuple(Field.window([-b]) for b in before)


@FIELD_RULES.register(aten.slice)
def crop(a, out, dims):
    """A slice of a spatial dim: output i reads start + i·step; of another dim: identity."""
    rank = len(a["self"])
    dim = a["dim"] % rank
    if dim < rank - dims:
        return identity(dims)
    size = a["self"][dim]
    start = a["start"] or 0
    start = max(0, start + size if start < 0 else start)
    maps = [Field.identity()] * dims
    maps[dim - (rank - dims)] = Field.window([start], a["step"])
    return tuple(maps)


@FIELD_RULES.register(aten.cat, role=Role.MERGE)
def cat(a, out, dims):
    """Along channels (or batch): each output reads its own position; along space: unknown."""
    rank = len(out)
    return identity(dims) if a["dim"] % rank < rank - dims else None


def _keeps_space(a, out, dims):
    """Views and copies that leave the last `dims` sizes as they are (or broadcast them)."""
    x = a.get("self", a.get("input"))
    if len(x) < dims or len(out) < dims:
        return None
    same = all(i in (o, 1) for i, o in zip(x[-dims:], out[-dims:]))
    return identity(dims) if same else None


FIELD_RULES.add(
    [
        aten.view, aten._unsafe_view, aten.reshape, aten.expand, aten.alias, aten.clone,
        aten.contiguous, aten._to_copy, aten.detach, aten.lift_fresh, aten.native_dropout,
        aten.dropout,
        *present("_reshape_alias"),
    ],
    _keeps_space,
    role=Role.MERGE,
)  # fmt: skip


@FIELD_RULES.register(aten.select, aten.squeeze, aten.unsqueeze, role=Role.MERGE)
def drop_or_add_dim(a, out, dims):
    """Removing or inserting a leading (batch, channel) dim keeps the field; a spatial one not."""
    rank = max(len(a["self"]), len(out))
    given = a.get("dim")
    if given is None:  # squeeze(): every size-1 dim, spatial ones included
        return identity(dims) if 1 not in a["self"][-dims:] else None
    where = [given] if isinstance(given, int) else list(given)
    return identity(dims) if all(d % rank < rank - dims for d in where) else None


@FIELD_RULES.register(aten.permute, aten.transpose, role=Role.MERGE)
def permute(a, out, dims):
    """A permutation that leaves the spatial dims in place (channels-last moves are unknown)."""
    rank = len(a["self"])
    order = list(range(rank))
    if "dims" in a:
        order = [d % rank for d in a["dims"]]
    else:
        i, j = a["dim0"] % rank, a["dim1"] % rank
        order[i], order[j] = order[j], order[i]
    return identity(dims) if order[rank - dims :] == list(range(rank - dims, rank)) else None


FIELD_RULES.add(
    [aten.copy_, aten.copy, aten.where, aten.masked_fill], role=Role.MERGE
)  # the values at each position (a mask or a copy): position by position
