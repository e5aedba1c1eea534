"""The front door: one build per device and one TARGET resolution per command; derive and
check in any constructor argument and input size of any model."""

import json

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app
from archcount.front import request, space

pytestmark = pytest.mark.usefixtures("toys_importable")
runner = CliRunner()
# toys.Line's other arguments and its input, held: checks derive in width alone
LINE_AT_4X16 = ["--fix", "channels=4", "--fix", "kernel=3", "--input-shape", "4,16", "--json"]


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def resolutions(monkeypatch):
    """Every load_target call of the count and derive paths, by TARGET."""
    seen: list[str] = []
    for module in (request, space):
        real = module.load_target

        def counting(spec, real=real):
            seen.append(spec)
            return real(spec)

        monkeypatch.setattr(module, "load_target", counting)
    return seen


@pytest.fixture
def built():
    import toys

    toys.BUILT.clear()
    return toys.BUILT


@pytest.mark.parametrize(
    ("options", "devices"),
    [
        ((), ["meta", "cpu"]),  # auto: meta first, then a real pass for small work
        (("--device", "meta"), ["meta"]),
        (("--device", "cpu"), ["cpu"]),
        (("--device", "meta", "--cross-check"), ["meta", "cpu"]),  # peers need real tensors
        (("--device", "cpu", "--cross-check", "--functional"), ["cpu"]),
    ],
)
def test_a_factory_is_called_once_per_device(options, devices, built, resolutions):
    r = run("toys:recorded", "--size", "8", *options, "--json")
    assert r.exit_code == 0, r.output
    assert built == devices
    assert resolutions == ["toys:recorded"]


def test_derive_resolves_the_target_once(resolutions):
    r = run("derive", "toys.Line", "--vars", "width", "--input-shape", "4,16", "--json")
    assert r.exit_code == 0, r.output
    assert resolutions == ["toys.Line"]


def test_derive_a_1d_model_in_its_own_argument():
    r = run("derive", "toys.Line", "--vars", "width", "--input-shape", "4,16", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    # by hand (toys.Line): k=3, channels=4, L=16; exact drops 4*width*(9-1)/4 = 8*width taps
    assert d["variables"] == ["width"]
    assert d["formulas"] == {
        "weights": "15*width + 2",
        "outputs": "16*width + 32",
        "connections": "224*width",
        "connections_exact": "216*width",
    }


def test_derive_in_an_input_size_named_in_the_shape():
    r = run("derive", "toys.Line", "--vars", "width,L", "--input-shape", "4,L", "--json")
    assert r.exit_code == 0, r.output
    f = json.loads(r.stdout)["formulas"]
    assert f["outputs"] == "L*width + 2*L"
    assert f["connections"] == "14*L*width"
    assert f["connections_exact"] == "14*L*width - 8*width"


def test_derive_other_arguments_held_by_arg():
    r = run(
        "derive",
        "toys.Line",
        "--vars",
        "width",
        "--arg",
        "kernel=5",
        "--input-shape",
        "4,16",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["formulas"]["weights"] == "23*width + 2"  # width*(4*5 + 3) + 2


@pytest.mark.parametrize(
    ("expect", "code"),
    [("weights=15*width + 2", 0), ("connections=224 width", 0), ("weights=15*width", 1)],
)
def test_check_a_1d_model(expect, code):
    r = run("check", "toys.Line", "--expect", expect, *LINE_AT_4X16)
    assert r.exit_code == code, r.output
    (c,) = json.loads(r.stdout)["checks"]
    assert c["ok"] is (code == 0)


def test_check_wrong_formula_names_the_difference():
    r = run("check", "toys.Line", "--expect", "weights=15*width", *LINE_AT_4X16)
    assert r.exit_code == 1
    assert json.loads(r.stdout)["checks"][0]["difference"] == "2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--vars", "depth", "--input-shape", "4,16"), "depth is neither an input size"),
        (("--vars", "width"), "declares no input: give --input-shape"),
        (("--vars", "width", "--input-shape", "4,1.5"), "--input-shape wants integers or names"),
    ],
)
def test_derive_errors_are_one_line(args, message):
    r = run("derive", "toys.Line", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_argument_that_sizes_the_input_needs_a_value(tmp_path, monkeypatch):
    (tmp_path / "nodefault.py").write_text(
        "from torch import nn\n"
        "class Net(nn.Conv1d):\n"
        "    def __init__(self, channels):\n"
        "        super().__init__(channels, 2, 3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    r = run(
        "derive",
        "nodefault.Net",
        "--vars",
        "L",
        "--input-shape",
        "channels,L",
        "--arg",
        "channels=3",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["formulas"]["weights"] == "20"  # 2*3*3 + 2
    r = run("derive", "nodefault.Net", "--vars", "L", "--input-shape", "channels,L")
    assert r.exit_code == 2 and "channels sizes the input: give it with --fix" in r.stderr


def test_a_declared_symbol_goes_by_its_argument_name_too():
    by_symbol = run("derive", "models.PoolUpsampleNet", "--vars", "NF", "--fix", "S=32", "--json")
    by_name = run(
        "derive", "models.PoolUpsampleNet", "--vars", "num_filters", "--fix", "S=32", "--json"
    )
    assert by_name.exit_code == 0, by_name.output
    assert json.loads(by_name.stdout)["variables"] == ["NF"]
    assert json.loads(by_name.stdout)["formulas"] == json.loads(by_symbol.stdout)["formulas"]


def test_declared_formulas_agree_under_arg_and_a_concrete_input():
    # NIC=3 by --arg, S=32 read off the input: 2880NF + 3328*24 outputs (docs/counting.md)
    r = run(
        "derive",
        "models.PoolUpsampleNet",
        "--vars",
        "NF",
        "--arg",
        "num_in_channels=3",
        "--input-shape",
        "3,32,32",
        "--json",
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["formulas"]["outputs"] == "2880*NF + 79872"
    assert d["declared"] == dict.fromkeys(d["formulas"], True)
