"""One forward (and, for training, its backward) with a spy on every aten op: its OpCosts.

The count's own recorder runs underneath (engine.record.Recorder: the same module stack, so
the same rows; on meta its answers for values and its fallbacks), and the spy above it sees
each op once, before the recorder, and charges it where the count would: a module call's row,
or 'owner (aten.op)' for the code of a module without a row. Attention is one op, taken at
`F.scaled_dot_product_attention` (the CPU fuses it, meta decomposes it). In backward each op
is charged to the row of the forward op whose autograd node runs it (autograd numbers a node
with the sequence number current when its forward op dispatched).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from archcount.engine import tags
from archcount.engine.attention import AttentionLayer
from archcount.engine.dispatch import DispatchMode
from archcount.engine.record import Recorder
from archcount.engine.stack import COVERED, COVERS_ALL, OWN, ModuleStack, mode
from archcount.engine.walk import Prepared
from archcount.errors import ForwardError, RuleError
from archcount.records import call_label
from archcount.roofline.hardware import OpClass
from archcount.roofline.ops import (
    OpCost,
    attention_macs,
    dtype_of,
    op_cost,
    storage_bytes,
    tensors_of,
    view_bytes,
)

OUTSIDE = "(backward outside layers)"  # autograd's own nodes: gradient seeds, accumulation
SDPA = "scaled_dot_product_attention"  # the label the count gives it
Where = tuple[str, "str | None"]  # (row, owner)


def where(stack: ModuleStack, op: str, root: str) -> Where:
    """The row the count charges an op to, and the owner when it is a module's own code."""
    frame = stack.frames[-1] if stack.frames else None
    if frame is None:
        return f"{root} ({op})", root
    if frame.role is OWN:
        return f"{frame.name} ({op})", frame.name
    if frame.role is COVERED or frame.role is COVERS_ALL:
        frame = stack.owner()
    return call_label(frame.name, frame.call), None


class Spy(DispatchMode):
    """Every aten op, charged to the row `locate` names; none while `quiet` (attention)."""

    def __init__(self, locate: Callable[[str], Where], backward: bool = False) -> None:
        super().__init__()
        self.locate, self.backward = locate, backward
        self.ops: list[OpCost] = []
        self.nodes: dict[int, Where] = {}  # autograd sequence number -> the forward op's row
        self.quiet = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        seq = None if self.backward else torch._C._autograd._get_sequence_nr()
        out = func(*args, **kwargs)
        if self.quiet:
            return out
        row, owner = self.locate(f"aten.{func.overloadpacket.__name__}")
        if seq is not None:  # the node this op made (if any) took the number before it
            self.nodes.setdefault(seq - 1, (row, owner))
        self.ops.append(op_cost(func, args, kwargs, out, row, owner, self.backward))
        return out


class Attention(TorchFunctionMode):
    """F.scaled_dot_product_attention as one op, its aten ops (fused or not) not spied."""

    def __init__(self, spy: Spy) -> None:
        super().__init__()
        self.spy = spy

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention or self.spy.quiet:
            return func(*args, **kwargs)
        seq = torch._C._autograd._get_sequence_nr()
        self.spy.quiet += 1
        try:
            out = func(*args, **kwargs)
        finally:
            self.spy.quiet -= 1
        ins = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        row, owner = self.spy.locate(SDPA)
        for n in range(seq, torch._C._autograd._get_sequence_nr()):  # its nodes, fused or not
            self.spy.nodes.setdefault(n, (row, owner))
        q, k, v = ins[:3]
        self.spy.ops.append(
            OpCost(
                row, owner, SDPA, False, OpClass.ATTENTION,
                dtype_of(ins, [out]), attention_macs(q, k, v), storage_bytes(ins),
                storage_bytes([out]), view_bytes(ins) + view_bytes([out]), False,
                min(q.shape[-2], k.shape[-2], q.shape[-1]),
            )
        )  # fmt: skip
        return out


def trace_ops(prepared: Prepared, root: str, training: bool = False) -> list[OpCost]:
    """Every op of one forward (eval, no grad), or of a training step's forward and backward."""
    p = prepared
    inputs = tags.tensors(p.args, p.kwargs)
    meta = any(t.device.type == "meta" for t in inputs)
    recorder = Recorder(p.model, root, p.registry, p.op_registry, p.batch, meta)
    spy = Spy(lambda op: where(recorder.modules, op, root))
    tags.mark_inputs(inputs, p.batch)
    try:
        with (
            recorder.modules,
            mode(p.model, training),
            torch.set_grad_enabled(training),
            recorder,
            AttentionLayer(recorder),
            spy,
            Attention(spy),
        ):
            try:
                out = p.model(*p.args, **p.kwargs)
            except RuleError:
                raise
            except Exception as exc:  # the user's model: one line naming the layer
                raise recorder.modules.forward_error(exc, (), "the timed forward") from exc
    finally:
        tags.clear(inputs)
    if not training:
        return spy.ops
    return spy.ops + backward_ops(out, spy.nodes)


def backward_ops(out, nodes: dict[int, Where]) -> list[OpCost]:
    """The backward of every output that needs a gradient (seeded with ones), spied."""
    outs = [t for t in tensors_of(out) if t.requires_grad and t.dtype.is_floating_point]
    if not outs:
        raise ForwardError("--time --training: no output of the model needs a gradient")
    seeds = [torch.ones_like(t) for t in outs]

    def locate(op: str) -> Where:
        node = torch._C._current_autograd_node()
        return nodes.get(node._sequence_nr(), (OUTSIDE, None)) if node else (OUTSIDE, None)

    spy = Spy(locate, backward=True)
    with spy:
        torch.autograd.backward(outs, seeds)
    return spy.ops
