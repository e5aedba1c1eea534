"""`archcount derive`, `archcount check`, declared formulas under the count, and --output files."""

import json

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

runner = CliRunner()
# Few variables keep these fast; the full five-symbol derivation is tested in test_formulas_derive.
SMALL = ["--fix", "NIC=1", "--fix", "k=3"]


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_count_shows_declared_formulas_with_ticks():
    r = run("models.PoolUpsampleNet", "--nf", "16", "--size", "64")
    assert r.exit_code == 0, r.output
    assert "declared formulas" in r.stdout
    assert "k²(NIC·NF + 4NF² + NF·NC + NC²) + 12NF + 4NC" in r.stdout
    assert r.stdout.count("✓") == 4 and "✗" not in r.stdout


def test_count_json_has_formulas_and_not_applicable():
    r = run("models.ConvTransposeNet", "--k", "4", "--json")
    d = json.loads(r.stdout)
    by = {f["quantity"]: f for f in d["formulas"]}
    assert by["outputs"]["ok"] is True and by["outputs"]["value"] == d["totals"]["outputs"]
    assert by["connections_exact"]["ok"] is None
    assert by["connections_exact"]["not_applicable"] == "needs k odd"


def test_count_without_declared_formulas_has_no_key(monkeypatch, tmp_path):
    (tmp_path / "plain_net.py").write_text(
        "from torch import nn\nclass Plain(nn.Sequential):\n"
        "    def __init__(self):\n        super().__init__(nn.Conv2d(3, 4, 3))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    d = json.loads(run("plain_net.Plain", "--json").stdout)
    assert "formulas" not in d


def test_derive_json_contract():
    r = run("derive", "models.ConvTransposeNet", "--vars", "NF,NC", "--fix", "S=32", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d["formulas"]) == {"weights", "outputs", "connections", "connections_exact"}
    assert d["formulas"]["outputs"] == "3072*NC + 1280*NF"
    assert d["variables"] == ["NF", "NC"] and d["restrictions"] == []
    assert d["fixed"] == {"S": 32}
    assert d["declared"] == dict.fromkeys(d["formulas"], True)


def test_derive_without_variables_gives_the_count():
    r = run("derive", "models.PoolUpsampleNet", "--vars", "S", "--fix", "S=64", "--json")
    d = json.loads(r.stdout)
    counted = json.loads(run("models.PoolUpsampleNet", "--size", "64", "--json").stdout)["totals"]
    assert d["variables"] == [] and d["formulas"]["outputs"] == str(counted["outputs"])


def test_derive_reports_the_restriction_on_s():
    r = run("derive", "models.PoolUpsampleNet", "--vars", "S", "--per-layer")
    assert r.exit_code == 0, r.output
    assert "holds for S a multiple of 4" in r.stdout
    assert "MaxPool2d" in r.stdout and "per layer" in r.stdout


def test_check_right_exits_0():
    r = run("check", "models.PoolUpsampleNet", "--expect", "outputs=2880*NF + 3328*NC", *SMALL)
    assert r.exit_code == 0, r.output
    assert "✓" in r.stdout


def test_check_wrong_exits_1_with_the_layers():
    r = run(
        "check",
        "models.PoolUpsampleNet",
        "--expect",
        "outputs=2880*NF + 3328*NC",
        "--convention",
        "modules",
        "--size",
        "32",
        "--json",
        *SMALL,
    )
    assert r.exit_code == 1, r.output
    (c,) = json.loads(r.stdout)["checks"]
    assert c["difference"] == "1024*NC + 640*NF"
    assert c["explanation"].startswith("missing 640NF + 1024NC: the ReLU outputs (layer1.3")
    assert "counted under `modules`, not under `units`" in c["explanation"]


def test_check_shows_the_layers_a_known_story_changes():
    """ConvTransposeNet's layer2.0 at stride 1 (8×8 -> 16×16) makes every later map 4× as
    large: 256NF + 256NF + 4·(128 + 128 + 256 + 256)NF + 4·3·1024NC = 3584NF + 12288NC."""
    r = run(
        "check", "models.ConvTransposeNet", "--size", "32", "-e", "outputs=3584NF + 12288NC",
        "--fix", "NIC=1", "--fix", "k=3",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "extra 2304NF + 9216NC: layer2.0 to layer5 (7 layers)" in " ".join(r.stdout.split())
    table = r.stdout.split("per layer: derived (the hooks)", 1)[1]
    cells = {
        row[0]: row[1:]
        for row in ([c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines())
        if row
    }
    assert cells["layer1.0"] == ["Conv2d", "256NF", "", ""]  # before the change: not marked
    assert cells["layer2.0"] == ["Conv2d", "128NF", "512NF", "✗"]
    assert cells["layer4.1"] == ["BatchNorm2d", "1024NC", "4096NC", "✗"]
    assert "layer1.2" not in cells  # a ReLU: no outputs under `units`, unchanged


def test_check_json_says_when_it_does_not_know():
    """1024NC is layer4.0's, layer4.1's and layer5's outputs, and two runs' at ×1/2."""
    r = run(
        "check", "models.ConvTransposeNet", "--size", "32", "-e", "outputs=1280NF + 2048NC",
        "--fix", "NIC=1", "--fix", "k=3", "--json",
    )  # fmt: skip
    (c,) = json.loads(r.stdout)["checks"]
    assert c["known"] is False and len(c["accounted_for_by"]) == 3
    assert c["explanation"].startswith("off by 1024NC (truth − yours); not known which: 5 ")


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("outputs=2880*NF +", "cannot parse"),
        ("outputs=2880*NX", "unknown name NX"),
        ("flops=2*NF", "unknown quantity 'flops'"),
        ("2880*NF", "QUANTITY=FORMULA"),
    ],
)
def test_check_unparsable_exits_2_in_one_line(expect, message):
    r = run("check", "models.PoolUpsampleNet", "--expect", expect)
    assert r.exit_code == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("suffix", [".md", ".html", ".svg", ".json"])
def test_output_files(tmp_path, suffix):
    out = tmp_path / f"report{suffix}"
    r = run("models.PoolUpsampleNet", "--output", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    if suffix == ".json":
        assert json.loads(text)["formulas"][0]["quantity"] == "weights"
    elif suffix == ".svg":  # rich splits SVG text into spans, spaces as &#160;
        assert text.startswith("<svg") and "declared&#160;formulas" in text
    else:
        assert "declared formulas" in text and "12NF + 4NC" in text
    if suffix == ".md":
        assert "| quantity | formula | value | hooks |  |" in text


def test_check_and_derive_write_output(tmp_path):
    out = tmp_path / "check.md"
    args = ["--expect", "outputs=2880*NF + 3328*NC", "--output", str(out), *SMALL]
    assert run("check", "models.PoolUpsampleNet", *args).exit_code == 0
    assert "| outputs | 2880NF + 3328NC | 2880NF + 3328NC | ✓ |" in out.read_text()


def test_output_with_unknown_suffix_is_a_user_error(tmp_path):
    r = run("models.PoolUpsampleNet", "--output", str(tmp_path / "x.pdf"))
    assert r.exit_code == 2 and "use one of .md" in r.stderr
