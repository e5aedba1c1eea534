"""`archcount TARGET --receptive-field`: the table and the JSON."""

import json

from typer.testing import CliRunner

from archcount.cli.app import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "120"})


def test_json_has_a_field_per_layer():
    r = run("models.PoolUpsampleNet", "--nf", "2", "--nc", "2", "--receptive-field", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    layers = {x["name"]: x["receptive_field"] for x in d["layers"]}
    assert [(f["largest"], f["smallest"]) for f in layers["layer5"]] == [(26, 22)] * 2
    assert (
        layers["layer1.1"]
        == [{"largest": 4, "smallest": 4, "jump": 2.0, "period": 1, "shift": 2, "offset": -1}] * 2
    )
    assert d["receptive"]["output"] == layers["layer5"] and d["receptive"]["warnings"] == []


def test_table_shows_the_range():
    r = run("models.UNet", "--nf", "2", "--nc", "2", "--k", "4", "--receptive-field")
    assert r.exit_code == 0, r.output
    assert "receptive field" in r.stdout and "18–22 × 18–22" in r.stdout


def test_without_the_option_no_field():
    d = json.loads(run("models.UNet", "--nf", "2", "--json").stdout)
    assert "receptive" not in d and "receptive_field" not in d["layers"][0]


def test_derive_receptive_field():
    r = run(
        "derive", "models.ConvTransposeNet", "--quantity", "receptive_field", "--vars", "k",
        "--fix", "S=32", "--arg", "num_filters=1", "--arg", "num_colours=1", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    (only,) = json.loads(r.stdout)["classes"]
    assert only["holds_for"] == "every value"
    assert [(d["largest"], d["smallest"], d["jump"]) for d in only["output"]] == [
        ("7*k - 6", "7*k - 10", "1")
    ] * 2
    table = run(
        "derive", "models.ConvTransposeNet", "--quantity", "receptive_field", "--vars", "k",
        "--fix", "S=32", "--arg", "num_filters=1", "--arg", "num_colours=1",
    ).stdout  # fmt: skip
    assert "receptive field closed forms" in table and "7k - 10" in table
