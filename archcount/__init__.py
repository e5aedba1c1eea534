"""archcount: count weights, outputs and connections of PyTorch models, per layer and in total."""

from archcount.errors import ArchcountError
from archcount.records import Convention, Kind, LayerCount, Options, Report, Totals
from archcount.registry import Rule, RuleRegistry, Taps
from archcount.rules import RULES, rule
from archcount.walk import count

__version__ = "0.1.0"
__all__ = [
    "ArchcountError", "Convention", "Kind", "LayerCount", "Options", "Report", "Totals",
    "Rule", "RuleRegistry", "Taps", "RULES", "rule", "count", "__version__",
]
