"""What CPU kernels check about values and meta kernels skip: the index range of a lookup.

On meta an embedding of positions past its table runs (its output is only a shape); the CPU
refuses. When the indices' values are known on meta (archcount's own inputs, positions made
by arange, through views and copies), the same check runs with the CPU's message: meta
refuses what CPU refuses.
"""

from __future__ import annotations

import torch

from archcount.engine import tags
from archcount.engine.rules.registry import schema_args

aten = torch.ops.aten
# op -> (table argument, index argument): the table's first dim is the one indexed
LOOKUPS = {aten.embedding: ("weight", "indices"), aten.embedding_bag: ("weight", "indices")}


def check(func, args, kwargs) -> None:
    """Raise IndexError, as the CPU kernel would, when known indices fall outside the table."""
    names = LOOKUPS.get(func.overloadpacket)
    if names is None:
        return
    named = schema_args(func, args, kwargs)
    table, index = named[names[0]], named[names[1]]
    real = tags.values(index)
    if real is None or real.numel() == 0 or "_ac_t" not in index.__dict__:
        return  # only values beyond doubt: a shadow computed through arithmetic may be a pattern
    if int(real.min()) < 0 or int(real.max()) >= table.shape[0]:
        raise IndexError("index out of range in self")
