"""The main command's extras: functional ops outside modules, and --cross-check with the peers.

`extend(request, report)` returns the report as an ExtendedReport, whose JSON and rich output
carry the extras, so whatever renders a Report renders them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archcount.crosscheck import CrossCheck, cross_check
from archcount.dispatch import FunctionalOps, functional_ops, with_functional
from archcount.records import Report
from archcount.request import Built, CountRequest


@dataclass(frozen=True)
class ExtendedReport(Report):
    """A Report with the functional-op pass and, when asked, the peers' cross-check."""

    functional: FunctionalOps | None = None
    functional_added: bool = False
    cross: CrossCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        """Report.to_dict() plus `functional` (and `functional_added`) and `cross_check`."""
        data = super().to_dict()
        if self.functional is not None:
            data["functional"] = {**self.functional.to_dict(), "added": self.functional_added}
        if self.cross is not None:
            data["cross_check"] = self.cross.to_dict()
        return data

    def __rich__(self):
        from rich.console import Group

        from archcount.render import report_renderable
        from archcount.render_checks import functional_renderable

        items = [report_renderable(self)]
        if self.functional is not None and self.functional.ops:
            items.append(functional_renderable(self.functional, self.functional_added))
        if self.cross is not None:
            items.append(self.cross)
        return Group(*items)


def extend(
    request: CountRequest,
    built: Built,
    report: Report,
    *,
    add_functional: bool = False,
    check: bool = False,
) -> ExtendedReport:
    """Run the functional-op pass (adding its ops to the totals if asked) and the cross-check."""
    # Peers need real tensors: the cross-check uses a CPU copy when counting on meta.
    built = built.on_cpu() if check else built
    model, args = built.model, built.args
    functional = functional_ops(model, example_input=args, convention=report.convention)
    if add_functional:
        report = with_functional(report, functional)
    peers = cross_check(report, model, args, functional) if check else None
    return ExtendedReport(
        model=report.model,
        params=report.params,
        input_shape=report.input_shape,
        options=report.options,
        layers=report.layers,
        warnings=report.warnings,
        functional=functional,
        functional_added=add_functional,
        cross=peers,
    )
