"""Every counting rule, one module per layer family, in four registries of one Registry class.

RULES (module type -> Rule), OP_RULES (aten op -> OpRule, forward connections),
BACKWARD_RULES (aten op -> BackwardRule, a training step's MACs) and FIELD_RULES (module type
or aten op -> FieldRule, receptive fields). A family's module (conv, linear, pool, ...) holds
its forward, backward and receptive-field rules side by side: docs/counting.md "Adding a layer".
"""

from archcount.engine.rules import (  # noqa: F401 - imported to register their rules
    attention,
    conv,
    elementwise,
    linear,
    norm,
    pool,
    recurrent,
    reduction,
    resample,
    storage,
)
from archcount.engine.rules.registry import (
    BACKWARD_RULES,
    FIELD_RULES,
    OP_RULES,
    RULES,
    backward_rule,
    field_rule,
    op_rule,
    rule,
)

RULES.own_code_only()  # the built-ins are layers: children a subclass adds count on their own

__all__ = [
    "BACKWARD_RULES",
    "FIELD_RULES",
    "OP_RULES",
    "RULES",
    "backward_rule",
    "field_rule",
    "op_rule",
    "rule",
]
