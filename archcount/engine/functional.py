"""Functional ops: the aten ops a container's own forward code runs, outside its children.

Forward hooks see modules, not the `torch.cat`, `x + y` or `q @ k.T` written in a forward.
The one recorded forward (engine.record) attributes every op to the innermost module running
it; this module presents a container's own ops on their own (FunctionalOps), as the rows a
report has by default (`h.0.attn (aten.bmm ×2)`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from archcount.engine.record import Tally, Tape
from archcount.engine.rows import functional_row
from archcount.records import Convention, Kind, LayerCount, Options, Report


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


@dataclass(frozen=True, repr=False)
class FunctionalOps:
    """The ops no counted module covers, and how many op calls the rules did cover."""

    ops: tuple[OpCount, ...]
    covered_calls: int | None  # op calls inside modules with a rule (their rule counts them)
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

    def __repr__(self) -> str:
        """'FunctionalOps(ops=N, convention=..., outputs=..., connections=..., ...)': one line."""
        return (
            f"FunctionalOps(ops={len(self.ops)}, convention={self.convention.value!r}, "
            f"outputs={self.outputs:_}, connections={self.connections:_}, "
            f"unknown={list(self.unknown)}, warnings={len(self.warnings)})"
        )

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


def build_functional(rec: Tape, convention: Convention | str = Convention.UNITS) -> FunctionalOps:
    """The functional ops of a recorded forward (no forward of its own)."""
    ops = tuple(
        OpCount(owner, op, kind, t.calls, t.outputs, t.nominal)
        for owner, tallies in rec.functional.items()
        for (op, kind), t in tallies.items()
        if t.calls
    )
    return FunctionalOps(ops, rec.covered, Convention(convention), tuple(rec.warnings))


def functional_rows(functional: FunctionalOps) -> tuple[LayerCount, ...]:
    """The ops as LayerCount rows, named as a report names them ('h.0 (aten.add ×2)')."""
    options = Options(functional.convention)
    rows = []
    for x in functional.ops:
        tally = Tally(x.calls, x.outputs, x.connections, x.connections)
        rows.append(functional_row(x.owner, (x.op, x.kind), tally, options, []))
    return tuple(rows)


def with_functional(report: Report, functional: FunctionalOps) -> Report:
    """`report` with the functional ops as rows in its totals (as it has them by default)."""
    if report.options.functional:
        return report
    return replace(
        report,
        layers=report.layers + functional_rows(functional),
        warnings=report.warnings + functional.warnings,
        options=replace(report.options, functional=True),
    )
