"""Functional ops: every aten op attributed to the module running it; report what no rule covers.

Forward hooks see modules, not the `torch.cat`, `x + y` or `q @ k.T` written in a forward.
This pass runs the forward once more under a TorchDispatchMode (as torch.utils.flop_counter
does; it works on meta tensors), keeps a module stack with hooks, and records each aten op
that runs outside every counted module, with outputs and connections from
archcount.engine.op_rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from archcount.engine.op_rules import OP_RULES, OpTaps, op_taps
from archcount.engine.registry import OpRegistry
from archcount.engine.rows import PerExample
from archcount.engine.walk import Prepared, prepare, run_hooked
from archcount.records import Convention, Kind, LayerCount, Report


@dataclass(frozen=True)
class OpCount:
    """One aten op run by one module's own code, summed over its calls, per example."""

    owner: str  # the innermost module whose forward ran it (the model's name for the root)
    op: str  # e.g. "aten.cat"
    kind: Kind
    calls: int
    outputs: int
    connections: int | None  # None: no formula for this op

    def counted_outputs(self, convention: Convention) -> int:
        """Outputs under `convention`: element-wise ops add none under `units`."""
        return 0 if self.kind.silent_under(convention) else self.outputs

    def counted_connections(self, convention: Convention) -> int | None:
        """Connections under `convention` (None when unknown)."""
        return 0 if self.kind.silent_under(convention) else self.connections

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "owner": self.owner,
            "op": self.op,
            "kind": self.kind.value,
            "calls": self.calls,
            "outputs": self.outputs,
            "connections": self.connections,
        }


@dataclass(frozen=True)
class FunctionalOps:
    """The ops no counted module covers, and how many op calls the rules did cover."""

    ops: tuple[OpCount, ...]
    covered_calls: int | None  # None: the scan found no torch call outside modules, no pass ran
    convention: Convention = Convention.UNITS
    warnings: tuple[str, ...] = ()  # op rules that failed, counts that do not divide the batch

    @property
    def outputs(self) -> int:
        """Outputs these ops add under the convention."""
        return sum(x.counted_outputs(self.convention) for x in self.ops)

    @property
    def connections(self) -> int:
        """Known connections these ops add under the convention."""
        return sum(x.counted_connections(self.convention) or 0 for x in self.ops)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Ops with no connection formula."""
        return tuple(dict.fromkeys(x.op for x in self.ops if x.connections is None))

    def to_dict(self) -> dict[str, Any]:
        """The JSON `functional` object."""
        return {
            "convention": self.convention.value,
            "outputs": self.outputs,
            "connections": self.connections,
            "connections_unknown_in": list(self.unknown),
            "covered_op_calls": self.covered_calls,
            "ops": [x.to_dict() for x in self.ops],
            "warnings": list(self.warnings),
        }


def functional_ops(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    *,
    example_input: Any = None,
    example_kwargs: Mapping[str, Any] | None = None,
    input_dtype: torch.dtype = torch.float32,
    convention: Convention | str = Convention.UNITS,
    rules: Mapping | None = None,
    op_rules: Mapping | None = None,
    name: str | None = None,
) -> FunctionalOps:
    """One forward under a dispatch mode: the ops run outside every counted module, per example."""
    prepared = prepare(model, input_size, example_input, input_dtype, rules, example_kwargs)
    return functional_pass(prepared, convention=convention, op_rules=op_rules, name=name)


def functional_pass(
    prepared: Prepared,
    *,
    convention: Convention | str = Convention.UNITS,
    op_rules: Mapping | None = None,
    name: str | None = None,
) -> FunctionalOps:
    """The functional ops of a prepared run (the same args, modules and batch as its count).

    A cheap torch-function scan goes first: when the model's own code calls no torch function
    outside its counted modules, the dispatch pass (which imports torch._dynamo) is skipped.
    """
    counted = {id(m) for _, m in prepared.targets}
    if not _calls_outside(prepared, counted):
        return FunctionalOps((), None, Convention(convention))
    recorder = _Recorder(name or type(prepared.model).__name__, OP_RULES.merged(op_rules))
    _run_with_stack(prepared, counted, recorder, recorder.stack)
    warnings = list(recorder.warnings)
    ops = tuple(_per_example(x, prepared.batch, warnings) for x in recorder.counts.values())
    return FunctionalOps(ops, recorder.covered, Convention(convention), tuple(warnings))


def _run_with_stack(prepared: Prepared, counted: set[int], mode, stack: list) -> None:
    """run_hooked under `mode`, with the module stack kept on `stack`; hooks always removed."""
    handles = _stack_hooks(prepared.model, counted, stack)
    try:
        with mode:
            run_hooked(prepared.model, prepared.args, prepared.targets, prepared.kwargs)
    finally:
        for h in handles:
            h.remove()


# Tensor metadata the hooks and shape code read: not arithmetic.
_METADATA = {"size", "dim", "numel", "__get__", "stride", "is_contiguous", "__len__", "ndimension"}


class _Scan(TorchFunctionMode):
    """Notes whether any torch function other than metadata runs outside counted modules."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.found = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        # only the model's own code counts: the root module is on the stack during forward
        in_model_code = bool(self.stack) and not self.stack[-1][1]
        if in_model_code and getattr(func, "__name__", "") not in _METADATA:
            self.found = True
        return func(*args, **(kwargs or {}))


def _calls_outside(prepared: Prepared, counted: set[int]) -> bool:
    scan = _Scan()
    _run_with_stack(prepared, counted, scan, scan.stack)
    return scan.found


def _stack_hooks(model: nn.Module, counted: set[int], stack: list) -> list:
    """Hooks on every module keeping (name, inside a counted module) on `stack`."""
    handles = []

    def pre(name):
        def hook(module, a):
            inside = id(module) in counted or bool(stack and stack[-1][1])
            stack.append((name, inside))

        return hook

    def post(module, a, out):
        stack.pop()

    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(pre(name)))
            handles.append(module.register_forward_hook(post))
    except BaseException:
        for h in handles:
            h.remove()
        raise
    return handles


class _Recorder(TorchDispatchMode):
    """Runs each op and adds it to the owner's tally unless a counted module is running it."""

    def __init__(self, root: str, registry: OpRegistry) -> None:
        super().__init__()
        self.root, self.registry = root, registry
        self.stack: list[tuple[str, bool]] = []
        self.counts: dict[tuple[str, str], OpCount] = {}
        self.warnings: list[str] = []
        self.covered = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.stack and self.stack[-1][1]:
            self.covered += 1
            return out
        taps = op_taps(func, args, kwargs, out, self.registry)
        if taps is not None:
            owner = (self.stack[-1][0] if self.stack else "") or self.root
            op = f"aten.{func.overloadpacket.__name__}"
            self._add(owner, op, taps)
            msg = f"{owner}: {op}: its rule failed ({taps.error}); connections unknown"
            if taps.error and msg not in self.warnings:
                self.warnings.append(msg)
        return out

    def _add(self, owner: str, op: str, taps: OpTaps) -> None:
        old = self.counts.get((owner, op))
        if old is None:
            self.counts[(owner, op)] = OpCount(
                owner, op, taps.kind, 1, taps.outputs, taps.connections
            )
            return
        conn = (
            None
            if None in (old.connections, taps.connections)
            else old.connections + taps.connections
        )
        self.counts[(owner, op)] = replace(
            old, calls=old.calls + 1, outputs=old.outputs + taps.outputs, connections=conn
        )


def _per_example(x: OpCount, batch: int, warnings: list[str]) -> OpCount:
    """Whole-batch counts divided by the batch, as a module row's are (rows.PerExample)."""
    per = PerExample(batch, f"{x.owner}: {x.op}", warnings)
    return replace(x, outputs=per(x.outputs), connections=per(x.connections))


def functional_rows(functional: FunctionalOps) -> tuple[LayerCount, ...]:
    """The ops as LayerCount rows (named 'owner: aten.op'), to be added to a report's totals."""
    return tuple(
        LayerCount(
            name=f"{x.owner}: {x.op}",
            type=x.op,
            kind=x.kind,
            call=0,
            input_shape=None,
            output_shape=None,
            trainable_weights=0,
            frozen_weights=0,
            outputs=x.counted_outputs(functional.convention),
            connections=x.counted_connections(functional.convention),
            # no padding taps: exact == nominal
            connections_exact=x.counted_connections(functional.convention),
        )
        for x in functional.ops
    )


def with_functional(report: Report, functional: FunctionalOps) -> Report:
    """`report` with the functional ops as extra rows (and their warnings), in its totals."""
    return replace(
        report,
        layers=report.layers + functional_rows(functional),
        warnings=report.warnings + functional.warnings,
    )
