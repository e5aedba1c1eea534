"""The main command's one library call: build once, count, the functional ops, the peers, and
the model's declared formulas, all from the same build.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from archcount.engine.functional import FunctionalOps
from archcount.formulas.declared import DeclaredCheck, check_declared
from archcount.front.request import (
    Built,
    CountRequest,
    build,
    prepare_built,
    report_of,
)
from archcount.recording import record
from archcount.records import Report, call_label

if TYPE_CHECKING:  # the passes a flag asks for are imported when asked (memory, start-up)
    from archcount.peers.crosscheck import CrossCheck
    from archcount.receptive.summary import ReceptiveFields
    from archcount.roofline.report import TimeReport
    from archcount.training.cost import TrainingCost
    from archcount.training.fit import Fit
    from archcount.training.options import TrainingOptions


@dataclass(frozen=True)
class Counted:
    """A Report with the functional-op pass, the peers' cross-check and the declared formulas."""

    report: Report
    functional: FunctionalOps | None = None
    functional_added: bool = False
    cross: CrossCheck | None = None
    declared: tuple[DeclaredCheck, ...] = ()
    module_types: dict[str, str] = field(default_factory=dict)  # name -> class, '' the model
    training: TrainingCost | None = None  # --training: one step at its batch
    fit: Fit | None = None  # --fit: the largest batch that fits
    receptive: ReceptiveFields | None = None
    time: TimeReport | None = None  # --time: bytes and predicted time per row

    def to_dict(self) -> dict[str, Any]:
        """Report.to_dict() plus `functional` (with `added`), `cross_check` and `formulas`."""
        data = self.report.to_dict()
        if self.functional is not None:
            data["functional"] = {**self.functional.to_dict(), "added": self.functional_added}
        if self.cross is not None:
            data["cross_check"] = self.cross.to_dict()
        if self.declared:
            data["formulas"] = [c.to_dict() for c in self.declared]
        if self.training is not None:
            data["training"] = self.training.to_dict()
        if self.fit is not None:
            data["fit"] = self.fit.to_dict()
        if self.receptive is not None:
            add_receptive(data, self.receptive)
        return data


def add_receptive(data: dict[str, Any], fields: ReceptiveFields) -> None:
    """Each layer's `receptive_field` (null when unknown), and the output's and the warnings."""
    by_label = fields.by_label()
    for layer in data["layers"]:
        row = by_label.get(call_label(layer["name"], layer["call"]))
        layer["receptive_field"] = None if row is None else row.to_dict()
    data["receptive"] = {
        "output": fields.to_dict()["output"],
        "warnings": list(fields.warnings),
    }


def count_request(
    request: CountRequest,
    *,
    add_functional: bool | None = None,
    check: bool = False,
    training: TrainingOptions | None = None,
    fit_bytes: int | None = None,
    receptive: bool = False,
    time: str | None = None,
) -> Counted:
    """Build once; one recorded forward gives the count and the functional ops; peers, declared.

    Functional ops are in the totals unless request.options.functional (or add_functional,
    when given) is False. `time`: the hardware --time predicts for (a preset, cpu, cuda, auto).
    """
    built = build(request)
    if add_functional is not None:
        request = replace(request, options=replace(request.options, functional=add_functional))
    prepared = prepare_built(built)
    recording = record(prepared, request.target)
    report = report_of(request, built, recording)
    functional = recording.functional(request.options.convention)
    add_functional = request.options.functional
    peers = None
    if check:  # peers need real tensors: a CPU copy when counting on meta
        from archcount.peers.crosscheck import cross_check

        real, meta = built.on_cpu(), _meta_run(built)
        peers = cross_check(
            report, real.model, real.args, functional, kwargs=real.inputs, meta=meta
        )
    declared = check_declared(type(built.model), built.arguments, report)
    types = {name: type(m).__name__ for name, m in built.model.named_modules()}
    cost = fit = None
    if training is not None:  # one training pass on meta (and --fit's solve)
        from archcount.front.training import fit_of, training_of

        cost = training_of(built, training, request.target)
        fit = None if fit_bytes is None else fit_of(built, training, fit_bytes, request.target)
    fields = None
    if receptive:
        fields = recording.receptive()
    timed = None
    if time is not None:  # one more pass on the same build, spied op by op
        from archcount.front.timed import time_of

        timed = time_of(request, prepared, time, training is not None)
    return Counted(
        report, functional, add_functional, peers, declared, types, cost, fit, fields, timed
    )


def _meta_run(built: Built) -> tuple | None:
    """(model, args, kwargs) on meta for FlopCounterMode: the build itself when counted on
    meta; else None, and the cross-check runs it on a meta copy of the real model."""
    return (built.model, built.args, built.inputs) if built.on_meta else None
