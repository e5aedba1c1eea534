"""--input NAME=SHAPE[:DTYPE] and the zoo TARGETs hf:MODEL_TYPE and timm:NAME."""

import json

import pytest
import torch
from typer.testing import CliRunner

from archcount.cli.app import app
from archcount.errors import InputError
from archcount.front.inputs import parse_input, parse_inputs

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize(
    ("text", "name", "shape", "dtype"),
    [
        ("input_ids=1,128:long", "input_ids", (1, 128), torch.long),
        ("pixel_values=2,3,8,8", "pixel_values", (2, 3, 8, 8), torch.float32),
        ("x=4x5:bf16", "x", (4, 5), torch.bfloat16),
        ("m = 3 : bool", "m", (3,), torch.bool),
        ("h=1,2:half", "h", (1, 2), torch.float16),
        ("i=7:int", "i", (7,), torch.int32),
    ],
)
def test_parse_input(text, name, shape, dtype):
    spec = parse_input(text)
    assert (spec.name, spec.shape, spec.dtype) == (name, shape, dtype)


@pytest.mark.parametrize(
    ("texts", "says"),
    [
        (["input_ids"], "NAME=SHAPE"),
        (["1x=3"], "NAME=SHAPE"),
        (["x=3,0"], "positive integers"),
        (["x=a,b"], "positive integers"),
        (["x=3:complex7"], "must be one of .*, got 'complex7'"),
        (["x=3", "x=4"], "x given twice"),
    ],
)
def test_bad_inputs_are_one_line_errors(texts, says):
    with pytest.raises(InputError, match=says):
        parse_inputs(texts)


def test_a_mask_is_ones_and_ids_are_zeros():
    assert parse_input("attention_mask=1,3:long").tensor("cpu").tolist() == [[1, 1, 1]]
    assert parse_input("input_ids=1,3:long").tensor("cpu").tolist() == [[0, 0, 0]]


@pytest.mark.usefixtures("toys_importable")
def test_keyword_inputs_reach_forward_with_their_dtypes():
    """Keywords: Embedding(10, 3) on 2×5 long ids, times a mask: per example 30 weights,
    15 embedding outputs; a float input_ids would not even run (Embedding wants integers)."""
    r = run("toys:Keywords", "--input", "input_ids=2,5:long", "-i", "attention_mask=2,5", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    emb = next(x for x in d["layers"] if x["name"] == "emb")
    assert (emb["weights"], emb["outputs"], emb["input_shape"]) == (30, 15, [2, 5])
    bad = run("toys:Keywords", "--input", "input_ids=2,5:float")
    assert bad.exit_code != 0


def test_timm_says_why_in_one_line_and_points_at_the_transformers_vision_models():
    r = run("timm:resnet18")
    if r.exit_code == 0:  # timm and torchvision do import here: nothing to explain
        return
    assert r.exit_code == 2
    line = r.stderr.strip()
    assert "\n" not in line and "torchvision" in line and "hf:resnet" in line


transformers = pytest.importorskip("transformers")
SMALL_GPT2 = ["--arg", "n_layer=1", "--arg", "n_embd=32", "--arg", "n_head=2"]


def test_hf_unknown_model_type_and_config_field_are_one_line_errors():
    r = run("hf:gtp2")
    assert r.exit_code == 2 and "no model type 'gtp2'" in r.stderr and "gpt2" in r.stderr
    r = run("hf:gpt2", "--arg", "n_leyer=1")
    assert r.exit_code == 2 and "GPT2Config has no field n_leyer" in r.stderr
    assert "n_layer" in r.stderr


def test_hf_text_model_defaults_to_128_token_ids_and_takes_input_shape_or_input():
    d = json.loads(run("hf:gpt2", *SMALL_GPT2, "--json").stdout)
    assert d["input_shape"] == [1, 128] and d["params"] == {"n_layer": 1, "n_embd": 32, "n_head": 2}
    d = json.loads(run("hf:gpt2", *SMALL_GPT2, "--input-shape", "16", "--json").stdout)
    assert d["input_shape"] == [1, 16]
    d = json.loads(run("hf:gpt2", *SMALL_GPT2, "-i", "input_ids=2,8:long", "--json").stdout)
    assert d["input_shape"] == [2, 8]
    # the config's own fields are what was built: 1 block of width 32
    wte = next(x for x in d["layers"] if x["name"] == "wte")
    assert wte["weights"] == 50257 * 32


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [
        ("gpt2", [("input_ids", (2, 128), torch.long)]),
        ("vit", [("pixel_values", (2, 3, 224, 224), torch.float32)]),
        ("resnet", [("pixel_values", (2, 3, 224, 224), torch.float32)]),
        ("t5", [("input_ids", (2, 128), torch.long), ("decoder_input_ids", (2, 128), torch.long)]),
        (
            "whisper",
            [
                ("input_features", (2, 80, 3000), torch.float32),
                ("decoder_input_ids", (2, 128), torch.long),
            ],
        ),
        ("wav2vec2", [("input_values", (2, 16000), torch.float32)]),  # 1 s at 16 kHz
        (  # a dual encoder: its text tower's 77 positions, and its vision tower's images
            "clip",
            [("input_ids", (2, 77), torch.long), ("pixel_values", (2, 3, 224, 224), torch.float32)],
        ),
    ],
)
def test_hf_default_inputs(model_type, expected):
    from archcount.front.zoo import zoo_factory

    factory = zoo_factory(f"hf:{model_type}")
    with torch.device("meta"):
        model = factory()
    specs = factory.default_inputs(model, 2, None)
    assert [(s.name, s.shape, s.dtype) for s in specs] == expected
