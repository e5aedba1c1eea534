"""archcount: count weights, outputs and connections of PyTorch models, per layer and in total.

Names are imported on first use so that `archcount --help` does not pay for torch.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "ArchcountError": "archcount.errors",
    "Convention": "archcount.records",
    "Kind": "archcount.records",
    "LayerCount": "archcount.records",
    "Options": "archcount.records",
    "Report": "archcount.records",
    "Totals": "archcount.records",
    "Rule": "archcount.engine.registry",
    "RuleRegistry": "archcount.engine.registry",
    "Taps": "archcount.engine.registry",
    "RULES": "archcount.engine.rules",
    "rule": "archcount.engine.rules",
    "OpRegistry": "archcount.engine.registry",
    "OpRule": "archcount.engine.registry",
    "OP_RULES": "archcount.engine.op_rules",
    "op_rule": "archcount.engine.op_rules",
    "count": "archcount.engine.walk",
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
    "Rule",
    "RuleRegistry",
    "Taps",
    "RULES",
    "rule",
    "OpRegistry",
    "OpRule",
    "OP_RULES",
    "op_rule",
    "count",
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
