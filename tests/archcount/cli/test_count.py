"""The `archcount` command: JSON contract, a golden table, and every error path."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

HERE = Path(__file__).parent
runner = CliRunner()


pytestmark = pytest.mark.usefixtures("toys_importable")


def run(*args, **env):
    return runner.invoke(app, list(args), env={"COLUMNS": "100", **env})


def test_main_example_json():
    r = run("models.PoolUpsampleNet", "--nic", "3", "--nf", "32", "--size", "64", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["totals"]["weights"] == 50_304
    assert d["totals"]["outputs"] == 688_128
    assert d["totals"]["connections"] == 55_951_360
    assert d["params"] == {"num_in_channels": 3, "num_filters": 32}
    assert d["input_shape"] == [1, 3, 64, 64] and d["convention"] == "units"
    keys = {
        "name",
        "type",
        "input_shape",
        "output_shape",
        "weights",
        "outputs",
        "connections",
        "connections_exact",
    }
    assert all(keys <= set(layer) for layer in d["layers"]) and d["warnings"] == []


def test_main_example_table_has_the_totals():
    r = run("models.PoolUpsampleNet", "--nic", "3", "--nf", "32", "--size", "64")
    assert r.exit_code == 0
    assert "50,304" in r.stdout and "688,128" in r.stdout and "55,951,360" in r.stdout
    assert "units:" in r.stdout


def test_golden_table():
    r = run("toys:tiny", "--size", "8", "--nic", "3")
    assert r.exit_code == 0, r.output
    assert r.stdout == (HERE / "golden" / "tiny.txt").read_text()


def test_rows_sum_to_printed_totals():
    d = json.loads(
        run("toys:tiny", "--size", "8", "--nic", "3", "--json", "--convention", "modules").stdout
    )
    for key in ("weights", "outputs", "connections", "connections_exact"):
        assert sum(x[key] for x in d["layers"]) == d["totals"][key]
    relu = d["layers"][1]
    assert (relu["outputs"], relu["connections"]) == (256, 256)


def test_arg_passes_any_constructor_argument():
    d = json.loads(
        run("toys:tiny", "--size", "8", "--nic", "3", "--arg", "width=2", "--json").stdout
    )
    assert d["params"] == {"width": 2} and d["layers"][0]["weights"] == 2 * 27 + 2


def test_long_input_for_embeddings():
    d = json.loads(
        run("toys.Lookup", "--input-shape", "5", "--input-dtype", "long", "--json").stdout
    )
    assert d["totals"]["weights"] == 50 * 8 + 18 and d["totals"]["outputs"] == 40 + 10


def test_cpu_device_gives_the_same_json():
    meta = json.loads(run("models.ConvTransposeNet", "--nf", "4", "--json").stdout)
    cpu = json.loads(
        run("models.ConvTransposeNet", "--nf", "4", "--json", "--device", "cpu").stdout
    )
    assert meta["layers"] == cpu["layers"]


ERRORS = [
    (["nosuchpkg.Net"], "cannot import module 'nosuchpkg'"),
    (["models.NoSuchNet"], "has no attribute 'NoSuchNet'"),
    (["toys:not_a_module"], "returned dict, not a torch.nn.Module"),
    (["toys:raises"], "boom in constructor"),
    (["toys:tiny", "--nf", "3"], "does not take"),
    (["toys:tiny", "--arg", "oops"], "--arg wants NAME=VALUE"),
    (["models.PoolUpsampleNet", "--size", "0"], "sizes must be positive"),
    (["models.PoolUpsampleNet", "--batch", "-1"], "sizes must be positive"),
    (["models.PoolUpsampleNet", "--size", "2"], "forward failed in layer layer2.1 (MaxPool2d)"),
    (
        ["models.PoolUpsampleNet", "--nic", "3", "--input-shape", "1,32,32"],
        "forward failed in layer layer1.0 (Conv2d) on input shape 1x1x32x32",
    ),
    (["models.PoolUpsampleNet", "--device", "tpu"], "--device must be auto, meta, cpu or cuda"),
    (["models.PoolUpsampleNet", "--input-shape", "a,b"], "--input-shape wants integers"),
    (["notatarget"], "TARGET must look like"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=lambda v: str(v)[:40])
def test_errors_are_one_line_exit_2(args, message):
    r = run(*args)
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


def test_cuda_unavailable_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run("models.PoolUpsampleNet", "--device", "cuda")
    assert r.exit_code == 2 and "CUDA is not available" in r.stderr


def test_debug_shows_the_traceback():
    r = run("nosuchpkg.Net", "--debug")
    assert r.exit_code != 0 and r.exception is not None
    assert type(r.exception).__name__ == "TargetError"


def test_help_and_version():
    assert "TARGET" in run("count", "--help").stdout.upper()
    assert run("--version").stdout.startswith("archcount ")
    assert "count" in run("--help").stdout


def test_auto_device_runs_small_models_on_cpu_and_large_ones_on_meta():
    from archcount.front.request import AUTO_CPU_WORK, CountRequest, build, count_built

    small = build(CountRequest("models.PoolUpsampleNet"))
    assert not small.on_meta and small.args[0].device.type == "cpu"
    # 49,728 weights x 256² positions > 10⁹: too much arithmetic for a CPU pass
    big = build(CountRequest("models.PoolUpsampleNet", height=256, width=256))
    assert big.on_meta and 49_728 * 256**2 > AUTO_CPU_WORK  # noqa: SIM300 - reads as the comment
    meta = build(CountRequest("models.PoolUpsampleNet", device="meta"))
    assert meta.on_meta
    assert (
        count_built(CountRequest("x"), small).layers == count_built(CountRequest("x"), meta).layers
    )
