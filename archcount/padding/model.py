"""Model mode: the padding each conv needs at a new kernel to keep the shapes of a reference.

Given two builds of one model, at the reference kernel and at the new one: the reference's
forward gives each conv call's shapes; the new build gives each layer's hyperparameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from archcount.engine.record import ModuleCall
from archcount.engine.taps import per_dim, spatial
from archcount.engine.walk import prepare
from archcount.errors import TargetError
from archcount.padding.equations import Answer, Op, Pad, equation, solve
from archcount.recording import record


@dataclass(frozen=True)
class LayerPadding:
    """One conv call: its reference shapes, its layer at the new k, and every padding that fits."""

    name: str
    type: str
    call: int
    input_shape: tuple[int, ...]  # at the reference kernel, whole batch
    output_shape: tuple[int, ...]
    current: tuple[Pad, ...]  # what the layer built at the new k pads
    answer: Answer

    @property
    def keeps(self) -> bool:
        """True when the layer as built at the new k already gives the reference output."""
        return any(s.pads == self.current for s in self.answer.solutions)

    @property
    def best(self):
        """The smallest solution, or None."""
        return self.answer.solutions[0] if self.answer.solutions else None

    def to_dict(self) -> dict[str, Any]:
        """{"name", "type", "padding", "output_padding", …}; padding null when none fits."""
        e, best = self.answer.equation, self.best
        return {
            "name": self.name,
            "type": self.type,
            "call": self.call,
            "padding": best.to_dict()["padding"] if best else None,
            "output_padding": best.to_dict()["output_padding"] if best else None,
            "symmetric": self.answer.symmetric,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "kernel": list(e.kernel),
            "stride": list(e.stride),
            "dilation": list(e.dilation),
            "keeps": self.keeps,
            "solutions": [s.to_dict() for s in self.answer.solutions],
            "pytorch": self.answer.pytorch or None,
            "reason": self.answer.reason,
        }


@dataclass(frozen=True)
class ModelPadding:
    """Per conv call, the paddings at `kernel` that keep the shapes seen at `reference_kernel`."""

    model: str
    kernel: int
    reference_kernel: int
    input_shape: tuple[int, ...]
    layers: tuple[LayerPadding, ...]

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json object in model mode."""
        return {
            "model": self.model,
            "kernel": self.kernel,
            "reference_kernel": self.reference_kernel,
            "input_shape": list(self.input_shape),
            "layers": [x.to_dict() for x in self.layers],
        }


def solve_model(
    name: str,
    reference: nn.Module,
    changed: nn.Module,
    size: tuple[int, ...],
    kernel: int,
    reference_kernel: int,
) -> ModelPadding:
    """Solve each conv call of `reference`'s forward on `size` for the layer in `changed`."""
    calls = _conv_calls(reference, size)
    if not calls:
        raise TargetError(f"{name} runs no Conv or ConvTranspose layer")
    # Only the layers' hyperparameters are read at the new k: its forward may well fail.
    layers = [_layer(c, _module_named(changed, c.name, name)) for c in calls]
    return ModelPadding(name, kernel, reference_kernel, size, tuple(layers))


def _conv_calls(model: nn.Module, size: tuple[int, ...]) -> list[ModuleCall]:
    """The reference forward's calls of Conv*/ConvTranspose* modules, in order."""
    calls = record(prepare(model, size)).calls
    return [c for c in calls if isinstance(c.module, nn.modules.conv._ConvNd)]


def _module_named(model: nn.Module, name: str, target: str) -> nn.Module:
    modules = dict(model.named_modules())
    modules.setdefault(type(model).__name__, model)  # a bare layer is named after its type
    found = modules.get(name)
    if not isinstance(found, nn.modules.conv._ConvNd):
        raise TargetError(f"{target} at the new kernel has no conv layer named {name}")
    return found


def _layer(call: ModuleCall, module: nn.modules.conv._ConvNd) -> LayerPadding:
    dims = len(module.kernel_size)
    op = Op.TRANSPOSED if isinstance(module, nn.modules.conv._ConvTransposeNd) else Op.CONV
    (x, *_), (y, *_) = call.inputs, call.outputs
    eq = equation(
        op,
        tuple(module.kernel_size),
        per_dim(module.stride, dims),
        per_dim(module.dilation, dims),
        spatial(x, dims),
        spatial(y, dims),
        dims,
    )
    return LayerPadding(
        call.name, type(module).__name__, call.call, x, y, current_pads(module), solve(eq)
    )


def current_pads(module: nn.modules.conv._ConvNd) -> tuple[Pad, ...]:
    """The module's own padding per dim; 'same' is PyTorch's split, extra zero after."""
    dims = len(module.kernel_size)
    op = per_dim(module.output_padding, dims) if module.transposed else (None,) * dims
    if module.padding == "valid":
        return tuple(Pad(0, 0, o) for o in op)
    if module.padding == "same":
        d = per_dim(module.dilation, dims)
        total = [di * (k - 1) for k, di in zip(module.kernel_size, d)]
        return tuple(Pad(t // 2, t - t // 2, o) for t, o in zip(total, op))
    return tuple(Pad(p, p, o) for p, o in zip(per_dim(module.padding, dims), op))
