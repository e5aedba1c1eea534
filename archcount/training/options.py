"""What a training step is: the batch, the optimizer, the precision, the frozen parameters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports these enums: torch loads only when a dtype is asked for
    import torch


class Optimizer(str, Enum):
    """--optimizer: how many fp32-or-param-dtype state buffers each trainable parameter has."""

    SGD = "sgd"  # plain SGD: no state
    MOMENTUM = "momentum"  # SGD with momentum: one buffer
    ADAM = "adam"  # exp_avg and exp_avg_sq: two buffers
    ADAMW = "adamw"

    @property
    def buffers(self) -> int:
        """State tensors per trainable parameter."""
        return {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]


class Precision(str, Enum):
    """--dtype: the dtype the step runs in, and whether fp32 master weights are kept."""

    FP32 = "fp32"
    BF16 = "bf16"  # pure bf16: weights, grads and optimizer state all bf16
    FP16_MIXED = "fp16-mixed"  # fp16 weights and grads, fp32 master weights and state

    @property
    def compute(self) -> torch.dtype:
        """The dtype of weights and activations in the forward and backward."""
        import torch

        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16-mixed": torch.float16}[
            self.value
        ]

    @property
    def master_bytes(self) -> int:
        """Bytes per trainable parameter of the fp32 master copy (0 when there is none)."""
        return 4 if self is Precision.FP16_MIXED else 0

    @property
    def state_bytes(self) -> int:
        """Bytes per element of one optimizer state buffer."""
        return 4 if self is Precision.FP16_MIXED else 2 if self is Precision.BF16 else 4


@dataclass(frozen=True)
class TrainingOptions:
    """One training step at `batch`: optimizer, precision, and globs of frozen parameter names."""

    batch: int = 1
    optimizer: Optimizer = Optimizer.ADAM
    precision: Precision = Precision.FP32
    freeze: tuple[str, ...] = ()

    def frozen(self, name: str) -> bool:
        """True when parameter `name` matches a --freeze glob (e.g. 'stem.*')."""
        return any(fnmatchcase(name, pattern) for pattern in self.freeze)
