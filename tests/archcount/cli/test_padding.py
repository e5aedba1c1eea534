"""`archcount padding`: JSON shapes of both modes, the tables, and one-line errors (exit 2)."""

import json

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("toys_importable")


def run(*args):
    return runner.invoke(app, ["padding", *map(str, args)], env={"COLUMNS": "160"})


def as_json(*args):
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize(
    ("args", "solutions"),
    [
        (
            ("transposed", "--k", 4, "--stride", 2, "--in", 8, "--out", 16),
            [{"padding": 1, "output_padding": 0, "symmetric": True}],
        ),
        (  # --out defaults to in * stride for a transposed conv
            ("transposed", "--k", 5, "--stride", 2, "--in", 8),
            [{"padding": 2, "output_padding": 1, "symmetric": True}],
        ),
        (  # ... and to in for a stride-1 conv: an even k needs unequal pads
            ("conv", "--k", 4, "--in", 32),
            [{"padding": [1, 2], "output_padding": None, "symmetric": False}],
        ),
        (
            ("conv", "--k", 3, "--stride", 4, "--in", 32, "--out", 8, "--dims", 1),
            [
                {"padding": 0, "output_padding": None, "symmetric": True},
                {"padding": 1, "output_padding": None, "symmetric": True},
            ],
        ),
        (  # per-dim kernels: one entry per dim
            ("conv", "--k", "3,5", "--in", 32),
            [{"padding": [1, 2], "output_padding": None, "symmetric": True}],
        ),
    ],
)
def test_equation_json(args, solutions):
    d = as_json(*args)
    assert d["solutions"] == solutions and d["reason"] is None


def test_equation_json_names_the_question_and_the_pytorch_way():
    d = as_json("conv", "--k", 4, "--in", 32, "--out", 32, "--dims", 3)
    assert (d["op"], d["dims"], d["kernel"], d["in"], d["out"]) == ("conv", 3, 4, 32, 32)
    assert d["symmetric"] is False and "nn.Conv3d(..., padding='same')" in d["pytorch"]


@pytest.mark.parametrize(("k", "padding", "output_padding"), [(4, 1, 0), (5, 2, 1)])
def test_model_json_has_the_homework_answer(k, padding, output_padding):
    d = as_json("models.ConvTransposeNet", "--k", k)
    rows = {x["name"]: x for x in d["layers"]}
    assert list(rows) == ["layer1.0", "layer2.0", "layer3.0", "layer4.0", "layer5"]
    assert all({"name", "type", "padding", "output_padding"} <= set(x) for x in d["layers"])
    assert rows["layer3.0"]["type"] == "ConvTranspose2d"
    assert (rows["layer3.0"]["padding"], rows["layer3.0"]["output_padding"]) == (
        padding,
        output_padding,
    )
    assert rows["layer1.0"]["output_padding"] is None
    assert rows["layer5"]["padding"] == ([1, 2] if k == 4 else 2)
    assert d["kernel"] == k and d["reference_kernel"] == 3


def test_model_table_flags_the_last_conv_for_even_k():
    r = run("models.ConvTransposeNet", "--k", 4)
    assert r.exit_code == 0, r.output
    row = next(x for x in r.stdout.splitlines() if "│ layer5 " in x)
    assert "(1, 2)" in row
    (note,) = [x for x in r.stdout.splitlines() if x.startswith("layer5:")]
    assert "no symmetric padding" in note and "padding='same'" in note
    assert "ConvTranspose2d" in r.stdout


def test_pool_upsample_net_and_other_models():
    d = as_json("models.PoolUpsampleNet", "--k", 6, "--nf", 4)
    assert [x["padding"] for x in d["layers"]] == [[2, 3]] * 5
    d = as_json("padding_toys.Volume", "--k", 5, "--input-shape", "1,6,16,16")
    assert d["layers"][1]["output_padding"] == [0, 1, 1]
    d = as_json("padding_toys.Grow", "--k", 1, "--input-shape", "1,8,8")
    assert d["layers"][0]["padding"] is None and "largest output" in d["layers"][0]["reason"]


def test_equation_table_says_when_no_symmetric_padding_exists():
    r = run("conv", "--k", 4, "--in", 32)
    assert r.exit_code == 0 and "no symmetric padding" in r.stdout
    assert "│ (1, 2) " in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("conv", "--k", 4, "--stride", 0, "--in", 32), "stride must be a positive integer"),
        (("conv", "--k", 0, "--in", 32), "kernel must be a positive integer"),
        (("conv", "--k", 3, "--in", -4), "in must be a positive integer"),
        (("conv", "--k", "x", "--in", 3), "--k wants an integer"),
        (("conv", "--k", 3), "needs --k and --in"),
        (("conv", "--k", 3, "--in", 32, "--dims", 4), "dims must be 1, 2 or 3"),
        (("conv", "--k", 7, "--in", 32, "--out", 20), "can only grow"),
        (("transposed", "--k", 4, "--stride", 2, "--in", 8, "--out", 30), "largest output"),
        (("conv", "--k", 3, "--in", 32, "--nf", 4), "are for model mode"),
        (("models.ConvTransposeNet", "--k", 4, "--in", 32), "model mode reads these"),
        (("models.ConvTransposeNet",), "needs --k with one integer"),
        (("models.ConvTransposeNet", "--k", 0), "--k must be a positive integer"),
        (("models.NoSuchNet", "--k", 4), "has no attribute"),
        (("padding_toys.NoConv", "--k", 4, "--input-shape", 32), "runs no Conv"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = run(*args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and r.stdout == ""
