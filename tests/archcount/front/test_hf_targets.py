"""hf: targets out of the box (issue 20 item 5): default inputs read off the config, models that
check their ids for padding counted on meta, heads, and sizes used or refused."""

import json

import pytest
import torch
from typer.testing import CliRunner

from archcount.cli.app import app
from archcount.errors import InputError

pytest.importorskip("transformers")
runner = CliRunner()
SMALL_BERT = dict(  # one block of width 32: a second or so per run
    num_hidden_layers=1, hidden_size=32, num_attention_heads=2, intermediate_size=64,
    vocab_size=256, max_position_embeddings=64,
)  # fmt: skip
SMALL_GPT2 = dict(n_layer=1, n_embd=32, n_head=2, vocab_size=100)


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def args_of(overrides: dict) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--arg", f"{k}={v!r}")]


def counted(*args) -> dict:
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize(
    ("model_type", "extra"),
    [
        ("squeezebert", dict(embedding_size=32)),  # its blocks take the embedding's width
        ("convbert", dict(embedding_size=32)),
        ("deberta", {}),
        ("nystromformer", dict(segment_means_seq_len=64, num_landmarks=8)),
        ("layoutlm", {}),
    ],
)
def test_models_that_check_their_ids_for_padding_count_on_meta_as_on_cpu(model_type, extra):
    """Without a mask transformers reads input_ids[:, [-1, 0]] for the pad token: on meta the
    engine answers that index from the ids' known values (zeros), so the totals are CPU's."""
    small = args_of({**SMALL_BERT, **extra})
    meta = counted(f"hf:{model_type}", *small, "--device", "meta")
    cpu = counted(f"hf:{model_type}", *small, "--device", "cpu")
    assert meta["totals"] == cpu["totals"]
    assert meta["input_shape"] == [1, 64]  # the positions the config has, at most 128


def test_meta_gets_the_same_inputs_as_cpu():
    """No input is added for a run on meta: the ids' known values answer the pad check."""
    from archcount.front.request import CountRequest, build

    for device in ("meta", "cpu"):
        built = build(CountRequest("hf:deberta", args=dict(SMALL_BERT), device=device))
        assert [(s.name, s.shape) for s in built.specs] == [("input_ids", (1, 64))]


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [  # read off each config's defaults (transformers' docs give these layouts)
        ("videomae", ("pixel_values", (2, 16, 3, 224, 224))),  # num_frames x C x H x W
        ("timesformer", ("pixel_values", (2, 8, 3, 224, 224))),
        ("speech_to_text", ("input_features", (2, 100, 80))),  # 1 s of 10 ms frames x 80
        ("encodec", ("input_values", (2, 1, 24000))),  # audio_channels x 1 s at 24 kHz
        ("wav2vec2", ("input_values", (2, 16000))),  # no sampling_rate: 16 kHz
    ],
)
def test_default_main_inputs_read_off_the_config(model_type, expected):
    from archcount.front.zoo import zoo_factory

    factory = zoo_factory(f"hf:{model_type}")
    with torch.device("meta"):
        model = factory()
    first = factory.default_inputs(model, 2, None)[0]
    assert (first.name, first.shape) == expected


def test_an_input_with_no_default_says_which_input_to_give():
    from archcount.front.zoo import zoo_factory

    factory = zoo_factory("hf:patchtst")
    with torch.device("meta"):
        model = factory()
    with pytest.raises(InputError, match=r"give it with --input past_values=SHAPE"):
        factory.default_inputs(model, 1, None)


@pytest.mark.parametrize(
    ("model_type", "small"),
    [
        ("speech_to_text", dict(encoder_layers=1, decoder_layers=1, d_model=32,
                                encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=100)),
        ("videomae", dict(num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                          intermediate_size=64, image_size=32, patch_size=16, num_frames=4)),
        ("funnel", dict(block_sizes=[1, 1], d_model=32, n_head=2, d_head=16, d_inner=64,
                        vocab_size=100)),
    ],
)  # fmt: skip
def test_models_that_failed_at_their_defaults_count_on_meta_as_on_cpu(model_type, small):
    meta = counted(f"hf:{model_type}", *args_of(small), "--device", "meta")
    cpu = counted(f"hf:{model_type}", *args_of(small), "--device", "cpu")
    assert meta["totals"] == cpu["totals"] and meta["totals"]["weights"] > 0


def test_videomae_counts_its_video_as_frames_of_patches():
    """Patch embedding: Conv3d(3, 32, (2, 16, 16)) over 4 frames of 32x32 -> 2x2x2 = 8 tubes
    of 32 outputs, each from 3*2*16*16 = 1536 inputs: by hand, 256 outputs, 393,216 taps."""
    small = dict(num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                 intermediate_size=64, image_size=32, patch_size=16, num_frames=4)  # fmt: skip
    d = counted("hf:videomae", *args_of(small), "--device", "meta")
    assert d["input_shape"] == [1, 4, 3, 32, 32]
    conv = next(x for x in d["layers"] if x["type"] == "Conv3d")
    assert (conv["outputs"], conv["connections"]) == (256, 256 * 1536)


def test_a_head_is_the_base_model_plus_its_head():
    """GPT-2's LM head ties its weights to wte (no new weights) and adds 16 tokens x 32 x 100
    vocabulary multiply-adds; the title says which class was built, and the base has no head."""
    small = [*args_of(SMALL_GPT2), "--input-shape", "16"]
    base, lm = counted("hf:gpt2", *small), counted("hf:gpt2:causal-lm", *small)
    assert base["model"] == "hf:gpt2 (GPT2Model, base model without its head)"
    assert lm["model"] == "hf:gpt2:causal-lm (GPT2LMHeadModel)"
    assert lm["totals"]["weights"] == base["totals"]["weights"]
    assert lm["totals"]["connections"] - base["totals"]["connections"] == 16 * 32 * 100
    head = next(x for x in lm["layers"] if x["name"] == "lm_head")
    assert head["connections"] == 16 * 32 * 100


def test_a_head_the_model_type_lacks_is_a_one_line_refusal_naming_its_heads():
    r = run("hf:gpt2:ctc")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "no 'ctc' head for 'gpt2'" in r.stderr and "causal-lm" in r.stderr


def test_size_sets_an_hf_image_models_sides():
    small = args_of(dict(num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                         intermediate_size=64, patch_size=16))  # fmt: skip
    assert counted("hf:vit", *small, "--size", "64", "--device", "meta")["input_shape"] == [
        1, 3, 64, 64,
    ]  # fmt: skip
    d = counted("hf:vit", *small, "--height", "32", "--width", "48", "--device", "meta")
    assert d["input_shape"] == [1, 3, 32, 48]
    # ViT's patch embedding: (32/16)*(48/16) = 6 patches of 32 outputs
    conv = next(x for x in d["layers"] if x["type"] == "Conv2d")
    assert conv["outputs"] == 6 * 32


def test_an_explicit_input_keeps_the_other_defaults():
    """T5 given only its input_ids still gets its default 128 decoder ids (it would fail)."""
    small = args_of(dict(num_layers=1, num_decoder_layers=1, d_model=32, d_ff=64, d_kv=16,
                         num_heads=2, vocab_size=100))  # fmt: skip
    d = counted("hf:t5", *small, "--input", "input_ids=2,16:long", "--device", "meta")
    shapes = {x["name"]: x["output_shape"] for x in d["layers"]}
    assert shapes["encoder.embed_tokens"] == [2, 16, 32]
    assert shapes["decoder.embed_tokens"] == [2, 128, 32]  # the batch follows --input's


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("hf:gpt2", "--size", "64"), "set an image's sides, and it takes input_ids"),
        (("hf:vit", "--input-shape", "3,64,64", "--size", "32"), "its shape is given whole"),
        (("hf:gpt2", "--input-shape", "16", "-i", "input_ids=1,16:long"), "given twice"),
        (("hf:gpt2", "--batch", "3", "-i", "input_ids=2,16:long"), "--batch 3, but --input"),
        (("models.PoolUpsampleNet", "--size", "64", "-i", "x=1,3,64,64"), "only --input"),
        (("models.PoolUpsampleNet", "--input-shape", "3,8,8", "--width", "8"), "whole per-ex"),
    ],
)
def test_sizes_no_input_takes_are_refused_in_one_line(args, says):
    r = run(*args, "--device", "meta")
    assert r.exit_code == 2, r.output
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_batch_and_input_agreeing_is_fine():
    d = counted("hf:gpt2", *args_of(SMALL_GPT2), "--batch", "2", "-i", "input_ids=2,16:long")
    assert d["input_shape"] == [2, 16]


def test_a_forward_failing_on_default_inputs_names_them():
    """EnCodec on meta: its forward reads values meta lacks; the line says what it was given."""
    r = run("hf:encodec", "--device", "meta")
    if r.exit_code == 0:  # the engine reads those values now: nothing to explain
        return
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "archcount gave it input_values 1x1x24000 by default" in r.stderr
    assert "--input NAME=SHAPE" in r.stderr


def test_a_config_automodel_cannot_build_is_a_one_line_refusal():
    """align_text_model is a part of ALIGN's config: AutoModel maps no model to it."""
    r = run("hf:align_text_model")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "AutoModel builds no model from AlignTextConfig" in r.stderr


class _Dual(torch.nn.Module):
    """An image model whose forward also requires text ids and boxes (no defaults)."""

    main_input_name = "pixel_values"

    def __init__(self):
        super().__init__()
        from types import SimpleNamespace

        self.config = SimpleNamespace(image_size=32, num_channels=3, max_position_embeddings=16)

    def forward(self, pixel_values, input_ids, boxes, attention_mask=None):
        return pixel_values


def test_required_inputs_get_the_same_defaults_or_are_named():
    from archcount.front.hf_inputs import default_inputs

    model = _Dual()
    with pytest.raises(InputError, match=r"requires boxes, .*give it with --input boxes=SHAPE"):
        default_inputs("hf:dual", model, 2, None)
    specs = default_inputs("hf:dual", model, 2, None, given={"boxes"})
    assert [(s.name, s.shape, s.dtype) for s in specs] == [
        ("pixel_values", (2, 3, 32, 32), torch.float32),
        ("input_ids", (2, 16), torch.long),  # the config's 16 positions
    ]


def test_a_vision_tower_that_wants_other_inputs_names_them_in_one_line():
    r = run("hf:glm4v_vision", "--device", "meta")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--input hidden_states=SHAPE" in r.stderr and "--input grid_thw=SHAPE" in r.stderr


def test_a_model_naming_several_main_inputs_gets_the_first_and_is_told_the_rest():
    """OneFormer's main_input_name is a list: pixel_values, then task_inputs (a tuple here)."""
    from archcount.front.hf_inputs import default_inputs

    class Several(_Dual):
        main_input_name = ("pixel_values", "task_inputs")

        def forward(self, pixel_values, task_inputs):
            return pixel_values

    with pytest.raises(InputError, match=r"requires task_inputs"):
        default_inputs("hf:several", Several(), 1, None)
    (spec,) = default_inputs("hf:several", Several(), 1, None, given={"task_inputs"})
    assert (spec.name, spec.shape) == ("pixel_values", (1, 3, 32, 32))
