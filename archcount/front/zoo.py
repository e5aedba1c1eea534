"""Zoo TARGETs: `hf:MODEL_TYPE` (a transformers model from its config class's defaults) and
`timm:NAME` (pretrained=False). Nothing is ever downloaded; both packages are imported here only.

A zoo factory takes its overrides as keyword arguments (`--arg`: config fields for hf, keyword
arguments of timm.create_model for timm) and says which inputs the model takes by default.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import torch
from torch import nn

from archcount.errors import TargetError
from archcount.front.inputs import InputSpec

TEXT_TOKENS = 128  # default sequence length of a text model's input_ids (and decoder ids)
AUDIO_SAMPLES = 16_000  # default length of raw audio (input_values): one second at 16 kHz
IMAGE_SIZE = 224  # default image side when a vision config names none
HF_VISION = "hf:resnet, hf:convnext, hf:vit, hf:swin, hf:mobilenet_v2, hf:efficientnet, hf:regnet"


def zoo_factory(spec: str):
    """The factory of a zoo TARGET; TargetError when its package is missing or has no such model."""
    prefix, _, name = spec.partition(":")
    if not name:
        raise TargetError(f"{spec!r}: give a model after '{prefix}:', e.g. hf:gpt2")
    return HFModel(name) if prefix == "hf" else TimmModel(name)


class HFModel:
    """hf:MODEL_TYPE -> transformers.AutoModel.from_config(its config with the overrides)."""

    def __init__(self, model_type: str) -> None:
        self.model_type, self.__name__ = model_type, f"hf:{model_type}"
        self.config_class = _config_class(model_type)

    def __call__(self, **overrides: Any) -> nn.Module:
        from transformers import AutoModel

        defaults = self.config_class()
        unknown = [k for k in overrides if not hasattr(defaults, k)]
        if unknown:
            fields = [k for k in defaults.to_dict() if not k.startswith("_")]
            near = difflib.get_close_matches(unknown[0], fields, n=3)
            hint = f"did you mean {', '.join(near)}? " if near else ""
            raise TargetError(
                f"{self.__name__}: {type(defaults).__name__} has no field "
                f"{', '.join(unknown)} ({hint}--arg sets config fields)"
            )
        return AutoModel.from_config(self.config_class(**overrides))

    def default_inputs(
        self, model: nn.Module, batch: int, main_shape: tuple[int, ...] | None
    ) -> list[InputSpec]:
        """The model's main input (main_shape per example, else a sensible default), plus
        decoder_input_ids for an encoder-decoder."""
        config, main = model.config, getattr(model, "main_input_name", "input_ids")
        if main == "input_ids":  # a dual encoder's text tower has its own positions (CLIP: 77)
            text = getattr(config, "text_config", None) or config
            first = InputSpec(main, (batch, *(main_shape or (_tokens(text),))), torch.long)
        elif main == "pixel_values":
            first = InputSpec(main, (batch, *(main_shape or _image(config))), torch.float32)
        elif main == "input_features":  # whisper: mel bins x 2 * encoder positions
            frames = 2 * config.max_source_positions
            shape = main_shape or (config.num_mel_bins, frames)
            first = InputSpec(main, (batch, *shape), torch.float32)
        elif main == "input_values":  # wav2vec2, HuBERT: one second of 16 kHz audio
            first = InputSpec(main, (batch, *(main_shape or (AUDIO_SAMPLES,))), torch.float32)
        else:
            raise TargetError(
                f"{self.__name__}: no default for its input {main!r}; give it with "
                f"--input {main}=SHAPE[:DTYPE]"
            )
        specs = [first]
        vision = getattr(config, "vision_config", None)
        if main != "pixel_values" and vision is not None and _takes(model, "pixel_values"):
            specs.append(InputSpec("pixel_values", (batch, *_image(vision)), torch.float32))
        if getattr(config, "is_encoder_decoder", False):
            decoder = min(TEXT_TOKENS, getattr(config, "max_target_positions", TEXT_TOKENS))
            specs.append(InputSpec("decoder_input_ids", (batch, decoder), torch.long))
        return specs


def _config_class(model_type: str):
    try:
        from transformers import CONFIG_MAPPING
    except ImportError as exc:
        raise TargetError(
            f"hf:{model_type} needs transformers: pip install 'archcount[zoo]' ({exc})"
        ) from exc
    if model_type not in CONFIG_MAPPING:
        near = difflib.get_close_matches(model_type, list(CONFIG_MAPPING.keys()), n=4)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise TargetError(f"hf:{model_type}: transformers has no model type {model_type!r}{hint}")
    return CONFIG_MAPPING[model_type]


def _takes(model: nn.Module, name: str) -> bool:
    """model.forward has a parameter `name` (CLIP's pixel_values beside its input_ids)."""
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def _tokens(config) -> int:
    """TEXT_TOKENS, or fewer when the model has fewer positions."""
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 0)
    return min(TEXT_TOKENS, limit) if limit else TEXT_TOKENS


def _image(config) -> tuple[int, int, int]:
    side = getattr(config, "image_size", None) or IMAGE_SIZE
    h, w = (side, side) if isinstance(side, int) else tuple(side)
    return (getattr(config, "num_channels", 3), h, w)


class TimmModel:
    """timm:NAME -> timm.create_model(NAME, pretrained=False, **overrides)."""

    def __init__(self, name: str) -> None:
        self.name, self.__name__ = name, f"timm:{name}"
        self.timm = _import_timm(name)
        if name not in self.timm.list_models():
            near = difflib.get_close_matches(name, self.timm.list_models(), n=4)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise TargetError(f"timm:{name}: timm has no model {name!r}{hint}")

    def __call__(self, **overrides: Any) -> nn.Module:
        return self.timm.create_model(self.name, pretrained=False, **overrides)

    def default_inputs(
        self, model: nn.Module, batch: int, main_shape: tuple[int, ...] | None
    ) -> list[InputSpec]:
        """One positional image of the model's default input size."""
        size = tuple(getattr(model, "pretrained_cfg", {}).get("input_size", (3, 224, 224)))
        return [InputSpec("", (batch, *(main_shape or size)), torch.float32)]


def _import_timm(name: str):
    try:
        import timm
    except Exception as exc:  # ImportError, or torchvision's own failure to load its ops
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TargetError(
            f"timm:{name}: timm cannot be imported ({why}); timm imports torchvision, which "
            f"does not import with a CPU-only torch build like this one: count the "
            f"transformers vision models instead ({HF_VISION})"
        ) from exc
    return timm
