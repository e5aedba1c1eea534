"""One forward: module hooks, a torch-function layer for attention, and aten dispatch recording.

Every module is hooked, keeping a stack of frames. Every aten op is recorded once, against the
innermost frame running it: a module with a rule covers its own code's ops (its children,
unless the rule says it covers them, are frames of their own); a leaf without a rule is
counted from its ops; a container's own ops are its functional ops. Attention is counted at
the `F.scaled_dot_product_attention` call (engine.attention), before any decomposition, so
meta and CPU agree. Tensors carry small tags (engine.tags): the batch, the element-wise root,
the parameter a view reads, on meta the values of small constant tensors (masks).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from archcount.engine import limits, scores, tags
from archcount.engine.attention import AttentionCount, AttentionLayer
from archcount.engine.dispatch import DispatchMode
from archcount.engine.optaps import OpTaps, across_batch, op_taps
from archcount.engine.rules.linear import META_FALLBACKS
from archcount.engine.rules.reduction import BINNED
from archcount.engine.rules.registry import Registry
from archcount.engine.stack import COVERED, COVERS_ALL, OPS, OWN, Frame, ModuleStack, mode
from archcount.errors import ForwardError, RuleError
from archcount.records import Kind

CAT = torch.ops.aten.cat
SCALAR = torch.ops.aten._local_scalar_dense.default  # Tensor.item(), bool(t), int(t)


@dataclass
class Tally:
    """One op's calls and per-example counts, summed (mutable while recording)."""

    calls: int = 0
    outputs: int = 0
    nominal: int | None = 0
    exact: int | None = 0
    error: str | None = None

    def add(self, outputs: int, nominal: int | None, exact: int | None) -> None:
        """Add one call's per-example counts (None connections stay None)."""
        self.calls += 1
        self.outputs += outputs
        self.nominal = None if None in (self.nominal, nominal) else self.nominal + nominal
        self.exact = None if None in (self.exact, exact) else self.exact + exact


# (op label, kind) -> Tally: the ops of one module call, or of a container over all its calls
Tallies = dict[tuple[str, Kind], Tally]


@dataclass
class CountFrame(Frame):
    """One running module call, with what the count keeps of it."""

    batched: bool = True
    tallies: Tallies = field(default_factory=dict)
    masked: int = 0  # connections removed by attention masks inside a covered call
    params: dict[int, nn.Parameter] = field(default_factory=dict)  # consumed by its own ops
    finite: bool = False  # on meta: its inputs' values are known or finite (so are its outputs)
    ran: bool = False  # batch > 1: an op ran inside this rule's module
    read_batch: bool = False  # ... and one of them read (or was sized by) the batch


@dataclass(frozen=True)
class ModuleCall:
    """What one call of a module with a row saw: whole-batch shapes, batch flag, its ops."""

    name: str
    module: nn.Module
    call: int
    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]
    role: str  # COVERED / COVERS_ALL (a rule counts it) or OPS (counted from `tallies`)
    batched: bool  # an input carries the batch: whole-batch rule counts divide by it
    tallies: Tallies
    masked: int  # whole-batch connections attention masks remove (exact = nominal - masked)
    # OPS: parameters its ops read, its own or another module's passed in (YOLOS's positions)
    params: tuple[nn.Parameter, ...] = ()
    units: int = 0  # OPS: per example, the elements of the tensors the call returned


@dataclass
class Tape:
    """What one recorded forward saw, in the order things finished."""

    # ModuleCall, or (owner, (op, kind)) naming a functional tally, in order of completion
    items: list = field(default_factory=list)
    functional: dict[str, Tallies] = field(default_factory=dict)
    consumed: dict[str, dict[int, nn.Parameter]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ran: set[int] = field(default_factory=set)  # ids of every module whose forward ran
    # ids of parameters a rule's module read as inputs (DeBERTa's rel_embeddings.weight, read
    # straight from an Embedding that never runs, into its pos_proj)
    read: set[int] = field(default_factory=set)
    covered: int = 0  # op calls inside modules with a rule (the rule counts them)


class Recorder(DispatchMode):
    """The dispatch layer: every aten op, attributed to the innermost frame."""

    def __init__(
        self, model: nn.Module, root: str, registry: Registry, op_registry: Registry, batch: int,
        meta: bool,
    ):  # fmt: skip
        super().__init__()
        self.root, self.registry, self.ops, self.batch = root, registry, op_registry, batch
        self.meta = meta
        self.modules = ModuleStack(model, registry, root, self.frame, None, self.leave)
        self.stack: list[CountFrame] = self.modules.frames  # type: ignore[assignment]
        self.rec = Tape()
        self.in_attention = 0
        self.cats: list[tuple[weakref.ref, str, Tallies, int, int]] = []
        self._pointwise: dict[Any, bool] = {}

    # -- the dispatch layer ---------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is SCALAR and self.meta:  # .item() / bool() of a meta tensor: its shadow's
            known = tags.values(args[0])
            if known is not None and not args[0].__dict__.get("_ac_a"):
                return known.item()
        if self.meta:  # the CPU's checks of known values (embedding index ranges)
            limits.check(func, args, kwargs)
        try:
            out = func(*args, **kwargs)
        except RuntimeError:
            fallback = META_FALLBACKS.get(func) if self.meta else None
            if fallback is None:
                raise
            out = fallback(args, kwargs)
        if self.in_attention or not self.stack:
            return out
        frame = self.stack[-1]
        if frame.role is COVERED or frame.role is COVERS_ALL:
            self.rec.covered += 1
            self.rec.read.update(id(p) for p in tags.params_read(tags.tensors(args, kwargs)))
            if self.batch > 1:  # does the rule's module read the batch? (BART's positions don't)
                self._read_batch(func, args, kwargs, out)
            return out
        self._record(func, args, kwargs, out, frame)
        return out

    def _record(self, func, args, kwargs, out, frame: Frame) -> None:
        ins = tags.tensors(args, kwargs)
        outs = (out,) if isinstance(out, torch.Tensor) else tags.tensors(out, None)
        if not outs:
            return
        batched = tags.propagate(func, ins, outs, self.batch, self.meta, args, kwargs)
        followed = self._follow(func, args, kwargs, ins, outs)  # hand-written attention
        rule = self.ops.lookup(func)
        if (rule.fn is None) if rule is not None else func.is_view:
            tags.follow_views(func, ins, outs)  # storage: views of parameters read them
            if not func.is_view:  # where(mask, bias, min), a cat: no arithmetic, but a read
                self._consume(frame, ins)
            return
        if tags.is_bias_add(func, ins, outs):  # counted as the fused addmm: weights only
            self._consume(frame, ins)
            return
        taps = across_batch(func, args, kwargs, ins, outs, self.batch, rule)
        if taps is not None:  # already per example
            batched = False
        else:
            taps = op_taps(func, args, kwargs, outs, ins, self.ops, rule, self._is_pointwise(func))
        if taps is None:
            return
        self._consume(frame, ins)
        if followed.taken and taps.exact is not None:  # the masked scores' taps leave exact
            taps = dataclasses.replace(taps, exact=taps.exact - followed.taken)
        if followed.note and followed.note not in self.rec.warnings:
            self.rec.warnings.append(followed.note)
        self._tally(frame, func, taps, batched, out)

    def _follow(self, func, args, kwargs, ins, outs) -> scores.Followed:
        """scores.follow, whose failure on an odd op costs a warning, not the count."""
        try:
            return scores.follow(func, args, kwargs, ins, outs)
        except Exception as exc:  # a layout the pattern cannot take: exact may keep its scores
            label = f"aten.{func.__name__.split('.')[0]}"
            msg = (
                f"hand-written attention: could not follow {label} ({type(exc).__name__}: {exc});"
                " exact may count masked scores"
            )
            if msg not in self.rec.warnings:
                self.rec.warnings.append(msg)
            for o in outs:
                o.__dict__.pop("_ac_q", None)
                o.__dict__.pop("_ac_w", None)
            return scores.NOTHING

    def _read_batch(self, func, args, kwargs, out) -> None:
        """An op inside a rule's module: carry the batch tag; note whether the module read it."""
        ins = tags.tensors(args, kwargs)
        outs = (out,) if isinstance(out, torch.Tensor) else tags.tensors(out, None)
        if not outs:
            return
        batched = tags.carry_batch(func, ins, outs, self.batch)
        owner = next(f for f in reversed(self.stack) if f.call >= 0)
        owner.ran = True
        owner.read_batch = owner.read_batch or batched

    def _consume(self, frame: CountFrame, ins) -> None:
        """Parameters an op reads: a container's functional rows, or an ops row, account them."""
        if frame.role is OWN or frame.role is OPS:
            for p in tags.params_read(ins):
                frame.params.setdefault(id(p), p)

    def _is_pointwise(self, func) -> bool:
        known = self._pointwise.get(func)
        if known is None:
            known = self._pointwise[func] = torch.Tag.pointwise in func.tags
        return known

    def _tally(self, frame: CountFrame, func, taps: OpTaps, batched: bool, out) -> None:
        label = f"aten.{func.__name__.split('.')[0]}"
        per = self._per_example(batched, frame.name, label)
        nominal, exact = per(taps.nominal), per(taps.exact)
        # a reduction over the whole batch (mask.sum()) reads every example; its one output
        # is the same at any batch, so it is counted whole
        whole = taps.outputs == 1 or func.overloadpacket in BINNED  # histc: its bins
        outputs = taps.outputs if whole else per(taps.outputs)
        tally = frame.tallies.setdefault((label, taps.kind), Tally())
        tally.add(outputs, nominal, exact)
        if taps.error:
            tally.error = taps.error
            msg = f"{frame.name}: {label}: its rule failed ({taps.error}); connections unknown"
            if msg not in self.rec.warnings:
                self.rec.warnings.append(msg)
        if func.overloadpacket is CAT and isinstance(out, torch.Tensor) and nominal is not None:
            self.cats.append((weakref.ref(out), frame.name, frame.tallies, outputs, nominal))

    def _per_example(self, batched: bool, name: str, label: str):
        batch, warnings = self.batch, self.rec.warnings

        def per(n: int | None) -> int | None:
            if n is None or not batched or batch == 1:
                return n
            if n % batch == 0:
                return n // batch
            msg = f"{name}: {label}: {n} is not a multiple of the batch {batch}; counted whole"
            if msg not in warnings:
                warnings.append(msg)
            return n

        return per

    # -- attention, from the torch-function layer ------------------------------------------
    def attention(self, count: AttentionCount, batched: bool) -> None:
        """An attention call counted whole (nominal and exact), on the innermost frame."""
        frame = self.stack[-1]
        if count.note and count.note not in self.rec.warnings:  # MHA's too: exact is nominal
            self.rec.warnings.append(count.note)
        if frame.role is COVERED:  # nn.MultiheadAttention's rule counts it; masks are exact's
            frame.masked += count.nominal - count.exact
            return
        per = self._per_example(batched, frame.name, count.label)
        outputs, nominal, exact = per(count.outputs), per(count.nominal), per(count.exact)
        frame.tallies.setdefault((count.label, Kind.LAYER), Tally()).add(outputs, nominal, exact)

    # -- module frames ---------------------------------------------------------------------
    def frame(self, name: str, module: nn.Module, role: str, call: int, args, kwargs):
        """A module call begins: its frame, with its inputs' shapes and tags when it has a row."""
        frame = CountFrame(name, module, role, call)
        if frame.has_row:
            ins = tags.tensors(args, kwargs)
            frame.inputs = tuple(tuple(t.shape) for t in ins)
            frame.batched = any(tags.is_batched(t) for t in ins)
            frame.finite = self.meta and all(map(tags.gives_finite, ins))
        return frame

    def leave(self, frame: CountFrame, out) -> None:
        """A module call ended: its ModuleCall, or its own ops merged into the container's."""
        if frame.call < 0:
            return
        if frame.role is OWN:
            self._merge(frame)
            return
        outs = tags.tensors(out, None)
        if frame.ran:  # its ops say whether it read the batch, not the inputs it was given
            frame.batched = frame.read_batch
        if frame.role is not OPS:  # ops inside a rule's module were not tagged: tag its outputs
            tags.mark_batched(outs, frame.batched)
            if frame.finite:
                tags.mark_finite(outs)
        self.rec.items.append(
            ModuleCall(
                frame.name,
                frame.module,
                frame.call,
                frame.inputs,
                tuple(tuple(t.shape) for t in outs),
                frame.role,
                frame.batched,
                frame.tallies,
                frame.masked,
                tuple(frame.params.values()),
                self._units(frame.name, outs) if frame.role is OPS else 0,
            )
        )

    def _units(self, name: str, outs) -> int:
        """Per example, the elements of the tensors a call returned: an ops row's outputs (its
        ops' intermediates are in its connections, as a rule's module's are)."""
        total = 0
        for t in outs:  # one number for the whole batch (a loss) is the same at any batch
            batched = tags.is_batched(t) and t.numel() != 1
            total += self._per_example(batched, name, "its output")(t.numel())
        return total

    def _merge(self, frame: CountFrame) -> None:
        own = self.rec.functional.setdefault(frame.name, {})
        for key, t in frame.tallies.items():
            if key not in own:
                own[key] = Tally()
                self.rec.items.append((frame.name, key))
            merged = own[key]
            merged.calls += t.calls - 1
            merged.add(t.outputs, t.nominal, t.exact)
            merged.error = merged.error or t.error
        if frame.params:
            self.rec.consumed.setdefault(frame.name, {}).update(frame.params)
        for i, (ref, name, tallies, o, c) in enumerate(self.cats):  # now in the merged tally
            if tallies is frame.tallies:
                self.cats[i] = (ref, name, own, o, c)


def record_tape(
    model: nn.Module,
    args: tuple,
    kwargs: Mapping[str, Any],
    *,
    registry: Registry,
    op_registry: Registry,
    batch: int,
    root: str,
) -> Tape:
    """One forward under both layers (no_grad, eval mode); hooks removed, tags cleared."""
    inputs = tags.tensors(args, kwargs)
    meta = any(t.device.type == "meta" for t in inputs) or _on_meta(model)
    recorder = Recorder(model, root, registry, op_registry, batch, meta)
    tags.mark_inputs(inputs, batch)
    threads = torch.get_num_threads()
    if meta and threads > 1:  # the shadows' tiny CPU ops: idle worker threads only spin
        torch.set_num_threads(1)
    try:
        with (
            recorder.modules,
            mode(model, False),
            torch.no_grad(),
            recorder,
            AttentionLayer(recorder),
        ):
            try:
                out = model(*args, **kwargs)
            except RuleError:  # a rule's bug, not the model's
                raise
            except Exception as exc:  # re-raised with the layer that failed and its shapes
                raise _forward_error(exc, recorder, inputs) from exc
    finally:
        tags.clear(inputs)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    _cache_copies(recorder, out)
    recorder.rec.ran = set(recorder.modules.calls)
    return recorder.rec


def _forward_error(exc: Exception, recorder: Recorder, inputs) -> ForwardError:
    text = str(exc).strip()
    hint = ""
    if recorder.meta and ("meta" in text or isinstance(exc, NotImplementedError)):
        hint = " (the model reads tensor values, which meta tensors do not have: try --device cpu)"
    shapes = tuple(tuple(t.shape) for t in inputs)
    return recorder.modules.forward_error(exc, shapes, hint=hint)


def _on_meta(model: nn.Module) -> bool:
    for p in model.parameters():
        return p.device.type == "meta"
    return False


def _cache_copies(recorder: Recorder, out) -> None:
    """Cats whose result is kept in an object the model returns (a KV cache) are copies."""
    if not recorder.cats:
        return
    kept = {id(t) for t in tags.kept_state(out)}
    for ref, owner, tallies, outputs, nominal in recorder.cats:
        t = ref()
        if t is None or id(t) not in kept:
            continue
        if ("aten.cat", Kind.CACHE) not in tallies and tallies is recorder.rec.functional.get(
            owner
        ):
            recorder.rec.items.append((owner, ("aten.cat", Kind.CACHE)))
        layer = tallies[("aten.cat", Kind.VIEW)]
        layer.calls -= 1
        layer.outputs -= outputs
        layer.nominal = None if layer.nominal is None else layer.nominal - nominal
        layer.exact = None if layer.exact is None else layer.exact - nominal
        tallies.setdefault(("aten.cat", Kind.CACHE), Tally()).add(outputs, nominal, nominal)
        if layer.calls == 0:
            del tallies[("aten.cat", Kind.VIEW)]
