"""The default inputs of an hf: model, read off its config: what its main input is, its shape.

The first spec is the model's main input (`model.main_input_name`); the others are what the
model also needs to run (a dual encoder's images, an encoder-decoder's decoder ids, a mask).
"""

from __future__ import annotations

import inspect
from collections.abc import Collection

import torch
from torch import nn

from archcount.errors import InputError
from archcount.front.inputs import InputSpec

TEXT_TOKENS = 128  # default sequence length of a text model's input_ids (and decoder ids)
AUDIO_SECONDS = 1  # default length of raw audio (input_values) and of audio features
SAMPLING_RATE = 16_000  # raw audio's samples per second when the config names no rate
FEATURE_FRAMES = 100  # audio feature frames per second (a 10 ms hop)
IMAGE_SIZE = 224  # default image side when a vision config names none


def default_inputs(
    name: str,
    model: nn.Module,
    batch: int,
    main_shape: tuple[int, ...] | None,
    given: Collection[str] = (),
) -> list[InputSpec]:
    """The model's main input (main_shape per example, else read off its config), plus what
    it also needs; InputError naming an input nothing says the shape of (and not `given`)."""
    config, main = model.config, main_input(model) or "input_ids"
    per_example = main_shape or _main_shape(name, main, config)
    first = InputSpec(main, (batch, *per_example), _dtype(main))
    specs = [first, *_beside(model, config, first)]
    if getattr(config, "is_encoder_decoder", False):
        decoder = min(TEXT_TOKENS, getattr(config, "max_target_positions", TEXT_TOKENS))
        specs.append(InputSpec("decoder_input_ids", (batch, decoder), torch.long))
    return [*specs, *_required(name, model, config, specs, given)]


def _required(
    name: str, model: nn.Module, config, specs: list[InputSpec], given: Collection[str]
) -> list[InputSpec]:
    """What forward requires (no default) beyond `specs`: text ids or images, by the same
    defaults (Grounding DINO's input_ids beside its pixel_values); InputError naming the rest."""
    batch, made = specs[0].shape[0], {s.name for s in specs} | set(given)
    missing = [n for n in _required_names(model) if n not in made]
    extra = [
        InputSpec(n, (batch, *_main_shape(name, n, config)), _dtype(n))
        for n in missing
        if n in ("input_ids", "pixel_values")
    ]
    rest = [n for n in missing if n not in ("input_ids", "pixel_values")]
    if rest:
        wanted = " ".join(f"--input {n}=SHAPE[:DTYPE]" for n in rest)
        raise InputError(
            f"{name}: its forward requires {', '.join(rest)}, which archcount has no default "
            f"for: give {'it' if len(rest) == 1 else 'them'} with {wanted}"
        )
    return extra


def _required_names(model: nn.Module) -> list[str]:
    """forward's parameters without a default (a vision tower's hidden_states and grid_thw)."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in params if p.default is p.empty and p.kind not in kinds]


def _dtype(main: str) -> torch.dtype:
    return torch.long if main == "input_ids" else torch.float32


def main_input(model: nn.Module) -> str:
    """The name of the model's main input ('' when it names none); the first of several
    (OneFormer's pixel_values, then task_inputs)."""
    main = getattr(model, "main_input_name", "")
    if isinstance(main, (list, tuple)):
        return main[0] if main and isinstance(main[0], str) else ""
    return main if isinstance(main, str) else ""


def _main_shape(name: str, main: str, config) -> tuple[int, ...]:
    """The per-example shape of the main input, from the config's own fields."""
    if main == "input_ids":  # a dual encoder's text tower has its own positions (CLIP: 77)
        return (_tokens(getattr(config, "text_config", None) or config),)
    if main == "pixel_values":  # a video model's frames come first (VideoMAE: 16x3x224x224)
        frames = getattr(config, "num_frames", None)
        return (frames, *_image(config)) if isinstance(frames, int) else _image(config)
    if main == "input_features":
        shape = _features(config)
    elif main == "input_values":  # raw audio, one second; EnCodec's has a channel dimension
        samples = AUDIO_SECONDS * (getattr(config, "sampling_rate", None) or SAMPLING_RATE)
        channels = getattr(config, "audio_channels", None)
        shape = (channels, samples) if isinstance(channels, int) else (samples,)
    else:
        shape = None
    if shape is None:
        raise InputError(
            f"{name}: archcount has no default for its input {main!r}: give it with "
            f"--input {main}=SHAPE[:DTYPE] (the whole shape, batch first)"
        )
    return shape


def _features(config) -> tuple[int, int] | None:
    """Audio features: Whisper's mel bins x 2·positions (its encoder wants exactly that);
    frames x features for a model that names its feature size (Speech2Text, SeamlessM4T)."""
    bins = getattr(config, "num_mel_bins", None)
    positions = getattr(config, "max_source_positions", None)
    if isinstance(bins, int) and isinstance(positions, int):
        return (bins, 2 * positions)
    frames = AUDIO_SECONDS * FEATURE_FRAMES
    per_channel = getattr(config, "input_feat_per_channel", None)
    if isinstance(per_channel, int):
        return (frames, per_channel * (getattr(config, "input_channels", None) or 1))
    projected = getattr(config, "feature_projection_input_dim", None)
    return (frames, projected) if isinstance(projected, int) else None


def _beside(model: nn.Module, config, first: InputSpec) -> list[InputSpec]:
    """A dual encoder's images beside its text."""
    batch, specs = first.shape[0], []
    vision = getattr(config, "vision_config", None)
    if first.name != "pixel_values" and vision is not None and takes(model, "pixel_values"):
        specs.append(InputSpec("pixel_values", (batch, *_image(vision)), torch.float32))
    return specs


def takes(model: nn.Module, name: str) -> bool:
    """model.forward has a parameter `name` (CLIP's pixel_values beside its input_ids)."""
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def _tokens(config) -> int:
    """TEXT_TOKENS, or fewer when the model has fewer positions."""
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 0)
    return min(TEXT_TOKENS, limit) if isinstance(limit, int) and limit > 0 else TEXT_TOKENS


def _image(config) -> tuple[int, int, int]:
    side = getattr(config, "image_size", None) or IMAGE_SIZE
    h, w = (side, side) if isinstance(side, int) else tuple(side)[-2:]
    return (getattr(config, "num_channels", None) or 3, h, w)
