"""training_cost(model, args, options) -> TrainingCost: one step's MACs and bytes, per layer.

Bytes of one step at batch B (steady state: optimizer state exists, grads set to None):
  param_bytes      every parameter in the compute dtype (trainable and frozen)
  grad_bytes       trainable parameters in the compute dtype
  optimizer_bytes  trainable × (buffers × state bytes + fp32 master copy under fp16-mixed)
  buffer_bytes     buffers (BatchNorm running statistics)
  saved_bytes      unique storages autograd saves for backward (the input when it is saved)
  activation_bytes saved + unsaved inputs + LOSS_OUTPUTS × output: the loss is taken as
                   cross-entropy-like (it saves one output-sized tensor, and its backward
                   holds two output-sized gradients at once)
  peak_bytes       param + buffer + grad + optimizer + activation: an affine bound in B. The
                   true peak (the start of the backward, for conv nets) holds no grads yet,
                   so the estimate is high by at most grad_bytes (targets are not modelled).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from fnmatch import fnmatchcase
from typing import Any

import torch
from torch import nn

from archcount.engine.rules import BACKWARD_RULES, RULES
from archcount.engine.rules.registry import Registry
from archcount.engine.stack import row_modules
from archcount.engine.walk import batch_of
from archcount.errors import InputError
from archcount.records import Drawn, call_label
from archcount.training.options import TrainingOptions
from archcount.training.trace import Traced, trace

LOSS_OUTPUTS = 3  # output-sized tensors the loss adds: its saved result and two gradients

FIELDS = (
    "forward_macs",
    "backward_macs",
    "backward_input_macs",
    "backward_weight_macs",
    "saved_bytes",
    "param_bytes",
    "grad_bytes",
    "optimizer_bytes",
)


@dataclass(frozen=True)
class LayerCost:
    """One layer call's share of the step (whole batch): MACs, saved bytes, its parameters."""

    label: str
    type: str
    forward_macs: int
    backward_input_macs: int
    backward_weight_macs: int
    saved_bytes: int
    param_bytes: int = 0
    grad_bytes: int = 0
    optimizer_bytes: int = 0

    @property
    def backward_macs(self) -> int:
        """Input-gradient plus weight-gradient multiply-adds."""
        return self.backward_input_macs + self.backward_weight_macs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the label, type and every FIELDS entry."""
        return {"name": self.label, "type": self.type} | {f: getattr(self, f) for f in FIELDS}


@dataclass(frozen=True, repr=False)
class TrainingCost(Drawn):
    """One training step at options.batch: per layer and in total (print() shows the table)."""

    options: TrainingOptions
    layers: tuple[LayerCost, ...]
    buffer_bytes: int
    input_bytes: int  # input storages autograd does not save
    output_bytes: int
    trainable: int  # trainable parameter elements
    frozen: int

    def _sum(self, name: str) -> int:
        return sum(getattr(x, name) for x in self.layers)

    forward_macs = property(lambda self: self._sum("forward_macs"), doc="Forward MACs.")
    backward_macs = property(lambda self: self._sum("backward_macs"), doc="Backward MACs.")
    backward_input_macs = property(lambda self: self._sum("backward_input_macs"))
    backward_weight_macs = property(lambda self: self._sum("backward_weight_macs"))
    saved_bytes = property(lambda self: self._sum("saved_bytes"), doc="Saved for backward.")
    param_bytes = property(lambda self: self._sum("param_bytes"), doc="Parameters.")
    grad_bytes = property(lambda self: self._sum("grad_bytes"), doc="Gradients.")
    optimizer_bytes = property(lambda self: self._sum("optimizer_bytes"), doc="Optimizer.")

    @property
    def training_macs(self) -> int:
        """Forward plus backward multiply-adds of the step."""
        return self.forward_macs + self.backward_macs

    @property
    def activation_bytes(self) -> int:
        """Everything that grows with the batch: saved, unsaved inputs, the loss's tensors."""
        return self.saved_bytes + self.input_bytes + LOSS_OUTPUTS * self.output_bytes

    @property
    def state_bytes(self) -> int:
        """What the step holds whatever the batch: parameters, buffers, grads, optimizer."""
        return self.param_bytes + self.buffer_bytes + self.grad_bytes + self.optimizer_bytes

    @property
    def peak_bytes(self) -> int:
        """The estimated peak of one step: state plus activations."""
        return self.state_bytes + self.activation_bytes

    def __repr__(self) -> str:
        """'TrainingCost(batch=..., layers=N, training_macs=..., peak_bytes=...)': one line."""
        return (
            f"TrainingCost(batch={self.options.batch}, layers={len(self.layers)}, "
            f"training_macs={self.training_macs:_}, peak_bytes={self.peak_bytes:_})"
        )

    def totals(self) -> dict[str, int]:
        """The JSON `training` totals."""
        return {f: getattr(self, f) for f in FIELDS} | {
            "buffer_bytes": self.buffer_bytes,
            "activation_bytes": self.activation_bytes,
            "peak_bytes": self.peak_bytes,
            "training_macs": self.training_macs,
            "batch": self.options.batch,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON `training` object: totals, options and a row per layer call."""
        o = self.options
        return self.totals() | {
            "optimizer": o.optimizer.value,
            "dtype": o.precision.value,
            "freeze": list(o.freeze),
            "trainable_weights": self.trainable,
            "frozen_weights": self.frozen,
            "layers": [x.to_dict() for x in self.layers],
        }


def training_cost(
    model: nn.Module,
    args: tuple,
    options: TrainingOptions | None = None,
    *,
    rules: Mapping | Registry | None = None,
    backward_rules: Mapping | None = None,
    name: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> TrainingCost:
    """One training step of `model(*args, **kwargs)` (inputs at the step's batch), per layer.

    Nothing runs backward: the backward rules price each recorded forward op. Run on meta
    for no memory and no arithmetic. A precision other than the model's works on a copy;
    --freeze globs are applied for the pass and undone.
    """
    kwargs = dict(kwargs or {})
    options = options or TrainingOptions(batch=batch_of(args, kwargs))
    model, args, kwargs = _in_precision(model, args, kwargs, options.precision.compute)
    root = name or type(model).__name__
    registry = rules if isinstance(rules, Registry) else RULES.merged(rules)
    targets = row_modules(model, registry, type(model).__name__)
    with _frozen(model, options) as trainable:
        grads = BACKWARD_RULES.merged(backward_rules)
        traced = trace(model, args, targets, registry, grads, root, kwargs)
        layers = _layers(traced, targets, trainable, options)
    frozen = sum(p.numel() for p in _unique(model.parameters())) - sum(
        p.numel() for p in _unique(trainable)
    )
    return TrainingCost(
        options,
        layers,
        buffer_bytes=sum(b.numel() * b.element_size() for b in _unique(model.buffers())),
        input_bytes=traced.input_bytes,
        output_bytes=traced.output_bytes,
        trainable=sum(p.numel() for p in _unique(trainable)),
        frozen=frozen,
    )


def _layers(traced: Traced, targets, trainable, options: TrainingOptions):
    """Tallies as LayerCost rows, each parameter's bytes on the first layer that owns it."""
    live = {id(p) for p in trainable}
    owned: dict[str, list[nn.Parameter]] = {}
    seen: set[int] = set()
    for name, module in targets:
        mine = [p for p in module.parameters() if id(p) not in seen]
        seen.update(id(p) for p in mine)
        owned[call_label(name, 0)] = mine
    leftover = [p for p in trainable if id(p) not in seen]  # the root's own parameters
    rows = []
    for i, (label, t) in enumerate(traced.layers.items()):
        params = owned.get(label, []) + (leftover if i == 0 else [])
        train = [p for p in params if id(p) in live]
        rows.append(
            LayerCost(
                label,
                t.type,
                t.forward,
                t.input_grad,
                t.weight_grad,
                t.saved,
                param_bytes=sum(p.numel() * p.element_size() for p in params),
                grad_bytes=sum(p.numel() * p.element_size() for p in train),
                optimizer_bytes=sum(p.numel() for p in train) * _state_per_element(options),
            )
        )
    return tuple(rows)


def _state_per_element(options: TrainingOptions) -> int:
    p = options.precision
    return options.optimizer.buffers * p.state_bytes + p.master_bytes


def _unique(tensors) -> list[torch.Tensor]:
    return list({id(t): t for t in tensors}.values())


def unmatched_freeze(patterns: tuple[str, ...], names: list[str]) -> None:
    """InputError naming the first --freeze glob that matches no parameter name, with the
    nearest module globs the model has (a typo must not leave everything trainable)."""
    for pattern in patterns:
        if any(fnmatchcase(name, pattern) for name in names):
            continue
        parts = [n.split(".") for n in names]
        modules = {".".join(p[:i]) for p in parts for i in range(1, len(p))}
        globs = sorted({f"{m}.*" for m in modules} | set(names))
        near = get_close_matches(pattern, globs, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
        example = f" (names look like {names[0]!r})" if names else " (the model has none)"
        raise InputError(f"--freeze {pattern!r} matches no parameter{example}{hint}")


class _frozen:
    """requires_grad off for the parameters --freeze names; restored on exit."""

    def __init__(self, model: nn.Module, options: TrainingOptions) -> None:
        self.model, self.options = model, options
        self.saved: list[tuple[nn.Parameter, bool]] = []

    def __enter__(self) -> list[nn.Parameter]:
        names = [name for name, _ in self.model.named_parameters()]
        unmatched_freeze(self.options.freeze, names)  # before any flag changes
        trainable = []
        for name, p in self.model.named_parameters():
            self.saved.append((p, p.requires_grad))
            if self.options.frozen(name):
                p.requires_grad_(False)
            elif p.requires_grad:
                trainable.append(p)
        return _unique(trainable)

    def __exit__(self, *exc) -> None:
        for p, flag in self.saved:
            p.requires_grad_(flag)


def _in_precision(model: nn.Module, args: tuple, kwargs: dict, dtype: torch.dtype):
    """The model and float inputs in `dtype` (a copy when the model is in another dtype)."""
    floats = [p for p in (*model.parameters(), *model.buffers()) if p.is_floating_point()]
    if any(p.dtype != dtype for p in floats):
        model = copy.deepcopy(model).to(dtype)

    def cast(a):
        return a.to(dtype) if isinstance(a, torch.Tensor) and a.is_floating_point() else a

    return model, tuple(cast(a) for a in args), {k: cast(v) for k, v in kwargs.items()}
