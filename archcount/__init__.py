"""archcount: count weights, outputs and connections of PyTorch models, per layer and in total.

Names are imported on first use so that `archcount --help` does not pay for torch.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ArchcountError": "archcount.errors",
    "Convention": "archcount.records",
    "Kind": "archcount.records",
    "LayerCount": "archcount.records",
    "Options": "archcount.records",
    "Report": "archcount.records",
    "Totals": "archcount.records",
    "Registry": "archcount.engine.rules.registry",
    "Rule": "archcount.engine.rules.registry",
    "OpRule": "archcount.engine.rules.registry",
    "BackwardRule": "archcount.engine.rules.registry",
    "FieldRule": "archcount.engine.rules.registry",
    "Grads": "archcount.engine.rules.registry",
    "Role": "archcount.engine.rules.registry",
    "Field": "archcount.engine.rules.field",
    "Taps": "archcount.engine.rules.registry",
    "RULES": "archcount.engine.rules",
    "rule": "archcount.engine.rules",
    "OP_RULES": "archcount.engine.rules",
    "op_rule": "archcount.engine.rules",
    "BACKWARD_RULES": "archcount.engine.rules",
    "backward_rule": "archcount.engine.rules",
    "FIELD_RULES": "archcount.engine.rules",
    "field_rule": "archcount.engine.rules",
    "count": "archcount.recording",
    "record": "archcount.recording",
    "Recording": "archcount.recording",
    "prepare": "archcount.engine.walk",
    "CountRequest": "archcount.front.request",
    "count_target": "archcount.front.request",
    "Formula": "archcount.formulas.closed_form",
    "Symbols": "archcount.formulas.closed_form",
    "solve_one": "archcount.padding.equations",
}
__all__ = [  # noqa: RUF022 - grouped as in _LAZY
    "ArchcountError",
    "Convention",
    "Kind",
    "LayerCount",
    "Options",
    "Report",
    "Totals",
    "Registry",
    "Rule",
    "OpRule",
    "BackwardRule",
    "FieldRule",
    "Grads",
    "Role",
    "Field",
    "Taps",
    "RULES",
    "rule",
    "OP_RULES",
    "op_rule",
    "BACKWARD_RULES",
    "backward_rule",
    "FIELD_RULES",
    "field_rule",
    "count",
    "record",
    "Recording",
    "prepare",
    "CountRequest",
    "count_target",
    "Formula",
    "Symbols",
    "solve_one",
    "__version__",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archcount' has no attribute {name!r}")


# A result's type -> the render function print() and rich.print() draw it with. Named, as in
# _LAZY, and imported on the first print: records sit below render and may not import it, and
# a static import here would put render (and rich) under every `import archcount` (and under
# models, which use the public names only).
_DRAWN = (
    ("archcount.records.Report", "archcount.render.report.report_renderable"),
    ("archcount.training.cost.TrainingCost", "archcount.render.training.training_renderable"),
    (
        "archcount.receptive.summary.ReceptiveFields",
        "archcount.render.receptive.receptive_renderable",
    ),
)


def _named(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def _draw(result: Any) -> Any:
    """The rich renderable of a result: the table its render function draws."""
    for kind, draw in _DRAWN:
        if isinstance(result, _named(kind)):
            return _named(draw)(result)
    raise TypeError(f"archcount draws no {type(result).__name__}")


# Here, above every layer: records print their tables without knowing the renderer.
import_module("archcount.records").install_drawing(_draw)
