"""Zoo TARGETs: `hf:MODEL_TYPE[:HEAD]` (a transformers model from its config class's
defaults: the base model, or with HEAD the auto class that adds that head) and `timm:NAME`
(pretrained=False). Nothing is ever downloaded; both packages are imported here only.

A zoo factory takes its overrides as keyword arguments (`--arg`: config fields for hf, keyword
arguments of timm.create_model for timm) and says which inputs the model takes by default.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import Any

import torch
from torch import nn

from archcount.errors import TargetError
from archcount.front.hf_inputs import default_inputs
from archcount.front.inputs import InputSpec

HF_VISION = "hf:resnet, hf:convnext, hf:vit, hf:swin, hf:mobilenet_v2, hf:efficientnet, hf:regnet"


def zoo_factory(spec: str):
    """The factory of a zoo TARGET; TargetError when its package is missing or has no such model."""
    prefix, _, name = spec.partition(":")
    if not name:
        raise TargetError(f"{spec!r}: give a model after '{prefix}:', e.g. hf:gpt2")
    return HFModel(name) if prefix == "hf" else TimmModel(name)


# hf:MODEL_TYPE:HEAD -> the transformers auto class that adds that head to the base model.
HEADS = {
    "causal-lm": "AutoModelForCausalLM",
    "masked-lm": "AutoModelForMaskedLM",
    "seq2seq-lm": "AutoModelForSeq2SeqLM",
    "pretraining": "AutoModelForPreTraining",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "image-classification": "AutoModelForImageClassification",
    "semantic-segmentation": "AutoModelForSemanticSegmentation",
    "object-detection": "AutoModelForObjectDetection",
    "ctc": "AutoModelForCTC",
    "speech-seq2seq": "AutoModelForSpeechSeq2Seq",
    "audio-classification": "AutoModelForAudioClassification",
    "video-classification": "AutoModelForVideoClassification",
}


class HFModel:
    """hf:MODEL_TYPE[:HEAD] -> transformers' AutoModel (the base model, no head), or the auto
    class of HEAD, .from_config(its config with the overrides)."""

    def __init__(self, name: str) -> None:
        model_type, _, head = name.partition(":")
        self.model_type, self.head, self.__name__ = model_type, head, f"hf:{name}"
        self.config_class = _config_class(model_type)
        self.auto = _auto_class(self.config_class, model_type, head)

    def __call__(self, **overrides: Any) -> nn.Module:
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
        config = self.config_class(**overrides)
        if getattr(config, "architectures", None) is None:  # from_config iterates it (Funnel)
            config.architectures = []
        return self.auto.from_config(config)

    def at_sides(self, overrides: dict, height: int | None, width: int | None) -> dict:
        """`overrides` with the config's image_size set to --size/--height/--width (ViT's
        position embeddings are made for it), unless --arg sets it or the config has none."""
        side = getattr(self.config_class(), "image_size", None)
        if "image_size" in overrides or not isinstance(side, (int, list, tuple)):
            return overrides
        h, w = (side, side) if isinstance(side, int) else tuple(side)[-2:]
        h, w = h if height is None else height, w if width is None else width
        return {**overrides, "image_size": h if h == w else [h, w]}

    def label(self, model: nn.Module) -> str:
        """What the report is titled: the TARGET, the class built, and whether it has a head."""
        what = "" if self.head else ", base model without its head"
        return f"{self.__name__} ({type(model).__name__}{what})"

    def default_inputs(
        self,
        model: nn.Module,
        batch: int,
        main_shape: tuple[int, ...] | None,
        given: Collection[str] = (),
    ) -> list[InputSpec]:
        """The model's main input (main_shape per example, else read off its config), plus
        what it also needs and is not `given` by --input (front.hf_inputs)."""
        return default_inputs(self.__name__, model, batch, main_shape, given)


def _auto_class(config_class, model_type: str, head: str):
    """AutoModel, or the auto class of `head`; TargetError naming the heads this type has."""
    import transformers

    # the auto class's mapping: config classes it can build (what from_config looks up)
    has = [h for h, a in HEADS.items() if config_class in getattr(transformers, a)._model_mapping]
    if not head:
        if config_class in transformers.AutoModel._model_mapping:
            return transformers.AutoModel
        offer = f"; its heads: {', '.join(f'hf:{model_type}:{h}' for h in has)}" if has else ""
        raise TargetError(
            f"hf:{model_type}: transformers' AutoModel builds no model from "
            f"{config_class.__name__} (a part of another model's config?){offer}"
        )
    if head not in HEADS or head not in has:
        offer = f"hf:{model_type}:{has[0]}" if has else f"hf:{model_type} (no head archcount knows)"
        raise TargetError(
            f"hf:{model_type}:{head}: transformers has no {head!r} head for {model_type!r}; "
            f"its heads: {', '.join(has) or 'none'} (e.g. {offer})"
        )
    return getattr(transformers, HEADS[head])


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
        self,
        model: nn.Module,
        batch: int,
        main_shape: tuple[int, ...] | None,
        given: Collection[str] = (),
    ) -> list[InputSpec]:
        """One positional image of the model's default input size (`given`: --input's names)."""
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
