"""The normalisation family: the nn norms, the aten norm ops and their receptive field.

count   1 per output (a norm: include_norm=False leaves it out)
field   followed along the weighted path, position by position: the statistics of a
        GroupNorm or LayerNorm (and of BatchNorm in training) read every position, which
        no receptive field counts
"""

from __future__ import annotations

from math import prod

from torch import nn

from archcount.engine.rules.registry import FIELD_RULES, OP_RULES, RULES, Role, aten, present
from archcount.records import Kind


def per_output(m, ins, outs):
    """1 per output."""
    return sum(prod(s) for s in outs)


RULES.add(
    [
        nn.modules.batchnorm._BatchNorm,
        nn.modules.instancenorm._InstanceNorm,
        nn.GroupNorm,
        nn.LayerNorm,
        nn.RMSNorm,
        nn.LocalResponseNorm,
    ],
    per_output,
    kind=Kind.NORM,
)
OP_RULES.add(
    [
        aten.native_layer_norm, aten.native_batch_norm, aten._native_batch_norm_legit,
        aten._native_batch_norm_legit_no_training, aten.native_group_norm,
        *present(
            "_fused_rms_norm", "rms_norm", "_native_batch_norm_legit_functional",
            "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm",
            "miopen_batch_norm", "layer_norm", "group_norm", "batch_norm", "instance_norm",
        ),
    ],
    lambda a, out: prod(out),
    kind=Kind.NORM,
)  # fmt: skip
FIELD_RULES.add(
    [
        aten.native_batch_norm, aten._native_batch_norm_legit_no_training,
        aten._native_batch_norm_legit, aten.native_layer_norm, aten.native_group_norm,
    ],
    role=Role.MERGE,
)  # fmt: skip
