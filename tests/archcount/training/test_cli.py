"""`archcount TARGET --training`: the JSON contract, hand-derived numbers, options, errors."""

import json

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

runner = CliRunner()
WEIGHTS = 49_728  # ConvTransposeNet at NF 32, NC 24, k 3, NIC 1
# per example: the five convs' MACs, 16²·32·9 + 8²·64·32·9 + 8²·64·32·9 + 16²·32·24·9 + 32²·24²·9
FORWARD = 73_728 + 1_179_648 + 1_179_648 + 1_769_472 + 5_308_416
FIELDS = {
    "forward_macs", "backward_macs", "backward_input_macs", "backward_weight_macs",
    "saved_bytes", "param_bytes", "grad_bytes", "optimizer_bytes",
}  # fmt: skip


def run(*args):
    r = runner.invoke(app, ["models.ConvTransposeNet", "--json", *args], env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["training"]


def test_training_json_by_hand():
    t = run("--training", "--batch", "100")
    assert FIELDS | {"peak_bytes", "batch"} <= set(t)
    assert set(t["layers"][0]) >= FIELDS
    assert t["batch"] == 100
    assert t["forward_macs"] == 100 * FORWARD
    # every conv's two gradients, but the first conv's input needs none
    assert t["backward_weight_macs"] == 100 * FORWARD
    assert t["backward_input_macs"] == 100 * (FORWARD - 73_728)
    assert t["backward_macs"] == t["backward_input_macs"] + t["backward_weight_macs"]
    assert (t["param_bytes"], t["grad_bytes"], t["optimizer_bytes"]) == (
        4 * WEIGHTS, 4 * WEIGHTS, 8 * WEIGHTS,
    )  # fmt: skip
    for f in FIELDS:
        assert sum(row[f] for row in t["layers"]) == t[f]
    assert (
        t["peak_bytes"]
        == t["param_bytes"]
        + t["buffer_bytes"]
        + t["grad_bytes"]
        + t["optimizer_bytes"]
        + t["activation_bytes"]
    )


@pytest.mark.parametrize(
    ("args", "per_weight"),
    [
        (("--optimizer", "sgd"), (4, 4, 0)),
        (("--optimizer", "momentum"), (4, 4, 4)),
        (("--optimizer", "adamw", "--dtype", "bf16"), (2, 2, 4)),
        (("--dtype", "fp16-mixed"), (2, 2, 4 + 2 * 4)),  # fp32 master weights + two fp32 states
    ],
)
def test_optimizer_and_dtype_bytes(args, per_weight):
    t = run("--training", *args)
    assert (t["param_bytes"], t["grad_bytes"], t["optimizer_bytes"]) == tuple(
        b * WEIGHTS for b in per_weight
    )


def test_freeze_glob():
    t = run("--training", "--freeze", "layer1.*")
    layer1 = 1 * 32 * 9 + 32 + 2 * 32  # conv weight and bias, BN affine
    assert t["grad_bytes"] == 4 * (WEIGHTS - layer1) and t["freeze"] == ["layer1.*"]
    assert t["trainable_weights"] == WEIGHTS - layer1
    rows = {r["name"]: r for r in t["layers"]}
    assert rows["layer1.0"]["backward_macs"] == 0
    assert rows["layer2.0"]["backward_input_macs"] == 0 < rows["layer2.0"]["backward_weight_macs"]


def test_fit_solves_and_confirms():
    d = runner.invoke(app, ["models.ConvTransposeNet", "--fit", "64MiB", "--json"])
    fit = json.loads(d.stdout)["fit"]
    assert fit["peak_bytes"] <= 64 * 2**20 < fit["peak_bytes_next"]
    assert fit["peak_bytes"] == fit["fixed_bytes"] + fit["batch"] * fit["per_example_bytes"]


@pytest.mark.parametrize("bad", ["80XB", "lots", "-1GiB"])
def test_bad_fit_size_is_one_line(bad):
    r = runner.invoke(app, ["models.ConvTransposeNet", "--fit", bad])
    assert r.exit_code == 2 and "--fit wants a size" in r.output


def test_table_shows_the_step():
    r = runner.invoke(app, ["models.ConvTransposeNet", "--training", "--batch", "100"],
                      env={"COLUMNS": "120"})  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "training step at batch 100: adam, fp32" in r.output
    assert "estimated peak" in r.output and "weight-grad MACs" in r.output
