"""CountRequest -> Report: the one library call behind `archcount TARGET`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from math import prod
from typing import Any

import torch

from archcount.engine.build import arguments, build_model, default_of, takes
from archcount.engine.walk import Prepared, prepare
from archcount.errors import ForwardError, InputError
from archcount.front.hf_inputs import main_input
from archcount.front.inputs import InputSpec, check_size, dtype_named
from archcount.front.target import HOMEWORK_ARGS, load_target
from archcount.recording import Recording, record
from archcount.records import Options, Report

# --device auto runs a real CPU pass when parameters x input positions stays under this:
# well under a second of arithmetic. Above it, meta: no memory, no arithmetic. Small models
# gain from CPU because PyTorch's meta kernels import sympy and torch._dynamo (~1.3 s).
AUTO_CPU_WORK = 10**9
SIDE = 32  # the positional input's height and width when --size/--height/--width give none
# An input that replaces a zoo model's default of another name (its embeddings for its ids).
REPLACES = {"inputs_embeds": "input_ids", "decoder_inputs_embeds": "decoder_input_ids"}


@dataclass(frozen=True)
class CountRequest:
    """What to count: a TARGET, its constructor arguments, an input, a device, options."""

    target: str
    homework: dict[str, int | None] = field(default_factory=dict)  # nic/nf/nc/k, None = default
    args: dict[str, Any] = field(default_factory=dict)
    height: int | None = None  # None: not given (SIDE, or a zoo model's own image size)
    width: int | None = None
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

    @property
    def sides_given(self) -> bool:
        """--size, --height or --width was given."""
        return self.height is not None or self.width is not None


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
        sides = (request.height, request.width)
        per = (channels, *(SIDE if n is None else n for n in sides))
    size = (request.batch, *per)
    if any(not isinstance(n, int) or n <= 0 for n in size):
        raise InputError(
            f"sizes must be positive integers: batch {request.batch}, "
            f"input {'x'.join(map(str, per))}"
        )
    check_size(size, dtype_named(request.input_dtype, "--input-dtype"), "input")  # even on meta
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
    if request.sides_given and hasattr(factory, "at_sides"):  # an hf image model's own size
        kwargs = factory.at_sides(kwargs, request.height, request.width)
    model = build_model(factory, kwargs, "meta" if device == "auto" else device)
    specs = input_specs(request, factory, model, dtype)
    if device == "auto":
        device = "cpu" if small_work(model, specs[0].shape) else "meta"
        model = build_model(factory, kwargs, "cpu") if device == "cpu" else model
    return Built(factory, kwargs, model, *_tensors(specs, device), specs)


def input_specs(request: CountRequest, factory, model, dtype: torch.dtype) -> tuple[InputSpec, ...]:
    """A zoo model's default inputs, each replaced by the --input of its name; else
    --input-shape or (batch, channels, height, width) as the positional input, then every
    --input (no positional input when only --input is given). Sizes no input takes refused."""
    batch = _batch(request)
    if hasattr(factory, "default_inputs"):  # front.zoo's factories
        specs = _zoo_inputs(request, factory, model, batch)
    else:
        specs = (*_positional(request, factory, dtype, batch), *request.inputs)
    for s in specs:
        check_size(s.shape, s.dtype, f"input {s.name}" if s.name else "input")
    return specs


def _batch(request: CountRequest) -> int:
    """--batch, or the batch --input's shapes start with (refused when --batch says another)."""
    if not request.inputs:
        return request.batch
    first = request.inputs[0].shape[0]
    given = sorted({s.shape[0] for s in request.inputs})
    if request.batch != 1 and request.batch not in given:
        raise InputError(
            f"--batch {request.batch}, but --input gives batch {', '.join(map(str, given))}: "
            f"--input's SHAPE is the whole shape, batch first"
        )
    return request.batch if request.batch != 1 else first


def _positional(request: CountRequest, factory, dtype, batch: int) -> tuple[InputSpec, ...]:
    """The positional input: --input-shape, or (channels, height, width); none with only --input."""
    if request.input_shape is None and request.inputs:
        if request.sides_given:
            raise InputError(
                "--size/--height/--width shape the positional input, which only --input leaves "
                "out: give it with --input-shape C,H,W, or the sizes in --input's SHAPE"
            )
        return ()
    if request.input_shape is not None and request.sides_given:
        raise InputError(
            "--input-shape is the whole per-example shape: leave out --size/--height/--width"
        )
    return (InputSpec("", input_size(replace(request, batch=batch), factory), dtype),)


def _zoo_inputs(request: CountRequest, factory, model, batch: int) -> tuple[InputSpec, ...]:
    """The model's default inputs (its main one shaped by --input-shape, or by the --input of
    its name, or at --size), each replaced by the --input of its name, then the other --input."""
    given = {s.name: s for s in request.inputs}
    main = main_input(model)
    main_shape = request.input_shape
    if main in given:
        if main_shape is not None:
            raise InputError(f"{main} given twice: by --input-shape and by --input {main}=...")
        main_shape = given[main].shape[1:]
    defaults = factory.default_inputs(model, batch, main_shape, set(given))
    if request.sides_given:
        defaults[0] = _at_sides(request, defaults[0], main_shape is not None)
    replaced = {REPLACES[n] for n in given if n in REPLACES}
    specs = [given.get(d.name, d) for d in defaults if d.name not in replaced]
    names = {d.name for d in defaults}
    return (*specs, *(s for s in request.inputs if s.name not in names))


def _at_sides(request: CountRequest, main: InputSpec, shaped: bool) -> InputSpec:
    """An image input (batch, ..., height, width) at --size/--height/--width; refused for any
    other input, or next to a shape given whole."""
    if shaped or len(main.shape) < 4:
        what = "its shape is given whole" if shaped else f"it takes {main.name or 'its input'}"
        raise InputError(
            f"--size/--height/--width set an image's sides, and {what}: give "
            f"{'--input-shape' if not shaped else 'the sides there'} instead"
        )
    h, w = main.shape[-2:]
    sides = (
        h if request.height is None else request.height,
        w if request.width is None else request.width,
    )
    return replace(main, shape=(*main.shape[:-2], *sides))


def _tensors(specs, device) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    args = tuple(s.tensor(device) for s in specs if not s.name)
    return args, {s.name: s.tensor(device) for s in specs if s.name}


def prepare_built(built: Built) -> Prepared:
    """The engine's prepared run of a build: its positional and keyword inputs."""
    return prepare(built.model, example_input=built.args, example_kwargs=built.inputs)


def report_of(request: CountRequest, built: Built, recording: Recording) -> Report:
    """The recording's Report under the request's options, titled with a zoo model's label
    (the class built, with or without its head; rows keep the TARGET's name); a forward that
    fails on inputs a zoo model was given by default says which, and how to give its own."""
    try:
        report = recording.report(request.options, params=built.kwargs)
    except ForwardError as exc:
        given = {s.name for s in request.inputs}
        made = [s for s in built.specs if s.name not in given]
        if not made or not hasattr(built.factory, "default_inputs"):
            raise
        shapes = ", ".join(f"{s.name or 'input'} {'x'.join(map(str, s.shape))}" for s in made)
        raise ForwardError(
            f"{exc}; archcount gave it {shapes} by default: give its own inputs with "
            "--input NAME=SHAPE[:DTYPE]"
        ) from exc
    label = getattr(built.factory, "label", None)
    return report if label is None else replace(report, model=label(built.model))


def count_built(request: CountRequest, built: Built, prepared: Prepared | None = None) -> Report:
    """Count a resolved request under its options (on `prepared`, a run of `built`, if given)."""
    prepared = prepared or prepare_built(built)
    return report_of(request, built, record(prepared, request.target))


def count_target(request: CountRequest) -> Report:
    """Build request.target on its device and count it on one input."""
    return count_built(request, build(request))
