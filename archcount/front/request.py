"""CountRequest -> Report: the one library call behind `archcount TARGET`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from math import prod
from typing import Any

import torch

from archcount.engine.build import arguments, build_model, default_of, takes
from archcount.engine.walk import Prepared, prepare
from archcount.errors import InputError
from archcount.front.inputs import InputSpec, dtype_named
from archcount.front.target import HOMEWORK_ARGS, load_target
from archcount.recording import record
from archcount.records import Options, Report

# --device auto runs a real CPU pass when parameters x input positions stays under this:
# well under a second of arithmetic. Above it, meta: no memory, no arithmetic. Small models
# gain from CPU because PyTorch's meta kernels import sympy and torch._dynamo (~1.3 s).
AUTO_CPU_WORK = 10**9
MAX_ELEMENTS = 2**61  # PyTorch counts a storage's bytes in an int64: 2^61 float32s at most


@dataclass(frozen=True)
class CountRequest:
    """What to count: a TARGET, its constructor arguments, an input, a device, options."""

    target: str
    homework: dict[str, int | None] = field(default_factory=dict)  # nic/nf/nc/k, None = default
    args: dict[str, Any] = field(default_factory=dict)
    height: int = 32
    width: int = 32
    batch: int = 1
    input_shape: tuple[int, ...] | None = None  # per example; overrides (channels, height, width)
    input_dtype: str = "float"
    device: str = "auto"
    options: Options = field(default_factory=Options)
    inputs: tuple[InputSpec, ...] = ()  # --input NAME=SHAPE[:DTYPE]: keyword inputs of forward

    def constructor_kwargs(self, factory) -> dict[str, Any]:
        """--nic/--nf/--nc/--k under the homework's names, then every --arg.

        --nic also sets the input's channels, so it is passed only to a constructor that
        takes num_in_channels; the others are always passed (and refused if not taken).
        """
        kw = {HOMEWORK_ARGS[k]: v for k, v in self.homework.items() if v is not None}
        channels = HOMEWORK_ARGS["nic"]
        if channels in kw and not takes(factory, channels):
            del kw[channels]
        return {**kw, **self.args}


def check_device(device: str) -> str:
    """'auto', 'meta', 'cpu' or an available 'cuda[:i]'; anything else is an InputError."""
    if device in ("auto", "meta", "cpu"):
        return device
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: CUDA is not available on this machine")
        return device
    raise InputError(f"--device must be auto, meta, cpu or cuda, got {device!r}")


def input_size(request: CountRequest, factory) -> tuple[int, ...]:
    """(batch, *per-example shape); channels from --nic, else the constructor's default, else 3."""
    if request.input_shape is not None:
        per = tuple(request.input_shape)
    else:
        channels = request.homework.get("nic") or default_of(factory, HOMEWORK_ARGS["nic"]) or 3
        per = (channels, request.height, request.width)
    size = (request.batch, *per)
    if any(not isinstance(n, int) or n <= 0 for n in size):
        raise InputError(
            f"sizes must be positive integers: batch {request.batch}, "
            f"input {'x'.join(map(str, per))}"
        )
    if prod(size) > MAX_ELEMENTS:  # even on meta
        raise InputError(
            f"input {'x'.join(map(str, size))} has {prod(size):.3g} elements: more than "
            "PyTorch can hold (2^61)"
        )
    return size


def small_work(model: torch.nn.Module, size: tuple[int, ...]) -> bool:
    """parameters x input positions (elements per channel) <= AUTO_CPU_WORK."""
    positions = prod(size) // size[1] if len(size) > 2 else prod(size)
    return sum(p.numel() for p in model.parameters()) * positions <= AUTO_CPU_WORK


@dataclass(frozen=True)
class Built:
    """A request resolved once: the factory, its kwargs, the model and its example input."""

    factory: Callable[..., Any]
    kwargs: dict[str, Any]
    model: torch.nn.Module
    args: tuple[torch.Tensor, ...]
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)  # keyword inputs of forward
    specs: tuple[InputSpec, ...] = ()  # what args and inputs were made from

    @property
    def arguments(self) -> dict[str, Any]:
        """Every named constructor argument of this build: given, else the default."""
        return arguments(self.factory, self.kwargs)

    @property
    def on_meta(self) -> bool:
        """True when the model holds no real tensors (peers cannot run it)."""
        return any(t.device.type == "meta" for t in (*self.args, *self.inputs.values()))

    def on_cpu(self) -> Built:
        """This build with a real CPU model and input (itself when already real)."""
        if not self.on_meta:
            return self
        model = build_model(self.factory, self.kwargs, "cpu")
        args, inputs = _tensors(self.specs, "cpu")
        return replace(self, model=model, args=args, inputs=inputs)


def build(request: CountRequest) -> Built:
    """Resolve the target once, build the model once per device, make a zero example input.

    --device auto builds on meta first (no memory) and again on CPU only for small work.
    """
    dtype = dtype_named(request.input_dtype, "--input-dtype")
    device = check_device(request.device)
    factory = load_target(request.target)
    kwargs = request.constructor_kwargs(factory)
    model = build_model(factory, kwargs, "meta" if device == "auto" else device)
    specs = input_specs(request, factory, model, dtype)
    if device == "auto":
        device = "cpu" if small_work(model, specs[0].shape) else "meta"
        model = build_model(factory, kwargs, "cpu") if device == "cpu" else model
    return Built(factory, kwargs, model, *_tensors(specs, device), specs)


def input_specs(request: CountRequest, factory, model, dtype: torch.dtype) -> tuple[InputSpec, ...]:
    """A zoo model's own default inputs unless --input is given (--input-shape: the main
    input's per-example shape); else --input-shape or (batch, channels, height, width) as the
    positional input, unless only --input (keyword inputs) is given, then every --input."""
    if hasattr(factory, "default_inputs") and not request.inputs:  # front.zoo's factories
        return tuple(factory.default_inputs(model, request.batch, request.input_shape))
    positional = ()
    if request.input_shape is not None or not request.inputs:
        positional = (InputSpec("", input_size(request, factory), dtype),)
    return positional + tuple(request.inputs)


def _tensors(specs, device) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    args = tuple(s.tensor(device) for s in specs if not s.name)
    return args, {s.name: s.tensor(device) for s in specs if s.name}


def prepare_built(built: Built) -> Prepared:
    """The engine's prepared run of a build: its positional and keyword inputs."""
    return prepare(built.model, example_input=built.args, example_kwargs=built.inputs)


def count_built(request: CountRequest, built: Built, prepared: Prepared | None = None) -> Report:
    """Count a resolved request under its options (on `prepared`, a run of `built`, if given)."""
    prepared = prepared or prepare_built(built)
    return record(prepared, request.target).report(request.options, params=built.kwargs)


def count_target(request: CountRequest) -> Report:
    """Build request.target on its device and count it on one input."""
    return count_built(request, build(request))
