"""Bad sizes, shapes, --arg, --fix and --vars values: one line, exit 2, nothing run from them."""

from __future__ import annotations

import pytest

SIZES = [
    (["--size", "1000000000000", "--device", "meta"], "more than PyTorch can hold"),
    (["--input-shape", "3,99999999999,99999999999"], "more than PyTorch can hold"),
    (["--size", "0"], "sizes must be positive"),
    (["--batch", "-1"], "sizes must be positive"),
    (["--input-shape", "a,b"], "--input-shape wants integers"),
    (["--input-shape", "3,__import__('os')"], "--input-shape wants integers"),
    (["--input-shape", "3,١٢,١٢"], "--input-shape wants integers"),  # Arabic-Indic digits
    (["--input-shape", "3,8,²"], "--input-shape wants integers"),
    (["--input-shape", "3,0,4"], "sizes must be positive"),
    (["--input-dtype", "object"], "--input-dtype must be one of"),
    (["--device", "cuda:__import__"], None),
    (["--device", "tpu"], "--device must be auto, meta, cpu or cuda"),
    (["--input-shape", "5,8,8"], "forward failed in layer conv (Conv2d)"),
]


@pytest.mark.parametrize(("extra", "says"), SIZES, ids=lambda v: str(v)[:50])
def test_bad_sizes_and_devices(ws, tiny, extra, says):
    ws.run(tiny, *extra, says=says)


ARGS = [
    ("x=__import__('os').system('touch {m}')", "does not take"),  # a string, never evaluated
    ("num_filters=__import__('os').system('touch {m}')", "failed"),
    ("oops", "--arg wants NAME=VALUE"),
    ("=1", "--arg wants NAME=VALUE"),
    ("__class__=1", "does not take"),
    ("num_filters=" + "(" * 500, "failed"),  # too deep for literal_eval: a string
    ("num_filters=" + "9" * 5000, "failed"),  # too long an int for literal_eval: a string
    ("num_filters=-3", "failed"),
]


@pytest.mark.parametrize(("arg", "says"), ARGS, ids=lambda v: str(v)[:40])
def test_bad_args(ws, tiny, arg, says):
    ws.run(tiny, "--size", "8", "--arg", arg.format(m=ws.marker), says=says)


FIX = [
    (["--fix", "S=-4"], "a held value is a whole number >= 0"),
    (["--fix", "S=²"], "--fix wants NAME=INTEGER"),  # '²'.isdigit() is True
    (["--fix", "S=١٢"], "--fix wants NAME=INTEGER"),  # int('١٢') is 12
    (["--fix", "S=abc"], "--fix wants NAME=INTEGER"),
    (["--fix", "__import__('os')=1"], "--fix wants NAME=INTEGER"),
    (["--fix", "S=" + "9" * 100], "--fix wants NAME=INTEGER"),
    (["--fix", "E=3"], "is neither an input size"),
    (["--vars", "NF,__import__"], "is neither an input size"),
    (["--input-shape", "3,S²,S"], "--input-shape wants integers or names"),
]


@pytest.mark.parametrize(("extra", "says"), FIX, ids=lambda v: str(v)[:40])
def test_bad_derive_options(ws, extra, says):
    ws.run("derive", "models.PoolUpsampleNet", *extra, says=says)


USAGE = [
    (["models.PoolUpsampleNet", "--size", "abc"], "Invalid value for '--size'"),
    (["models.PoolUpsampleNet", "--size", "1e3"], "Invalid value for '--size'"),
    (["models.PoolUpsampleNet", "--nosuch"], "No such option: --nosuch"),
    (["models.PoolUpsampleNet", "--convention", "__import__"], "Invalid value for '--convention'"),
    (["check", "models.PoolUpsampleNet"], "Missing option '--expect'"),
    (["derive"], "Missing argument 'target'"),
    (["padding", "conv", "--k"], "requires an argument"),
]


@pytest.mark.parametrize(("args", "says"), USAGE, ids=lambda v: str(v)[:40])
def test_usage_errors_are_one_line_too(ws, args, says):
    ws.run(*args, says=says)


# Integers past PyTorch's int64 used to reach torch ("Overflow when unpacking long long",
# OverflowError); each is now a sentence about the option that carried it.
BIG = "9" * 20  # 99999999999999999999 > 2^63 - 1
OVERFLOW = [
    (["TINY", "--nf", BIG], f"--nf: {BIG} does not fit in PyTorch's 64-bit"),
    (["TINY", "--k", "-" + BIG], f"--k: -{BIG} does not fit"),
    (["TINY", "--nic", str(2**63)], "--nic: 9223372036854775808 does not fit"),
    (["TINY", "--arg", "num_filters=1" + "0" * 30], "--arg num_filters: 100000… (31 digits)"),
    (["TINY", "--arg", f"num_filters=[1, (2, {{3: {BIG}}})]"], "--arg num_filters: 9999"),
    (["TINY", "--arg", "num_filters=10**30"], "arithmetic is never evaluated"),
    (["TINY", "--arg", "num_filters=2^64"], "arithmetic is never evaluated"),
    (["TINY", "--size", BIG], "more than PyTorch can hold"),
    (["TINY", "--input", f"x=1,{BIG}"], f"--input x: {BIG} does not fit"),
    (["TINY", "--input", f"x=1,{2**62}"], f"--input x: 1x{2**62} is more than PyTorch can hold"),
    (["TINY", "--batch", BIG], "more than PyTorch can hold"),
    (["TINY", "--fit", "9" * 400], "more bytes than any machine has"),
    (["TINY", "--fit", "8000000000TiB"], "--fit: 8796093022208000000000 does not fit"),
    (["padding", "models.PoolUpsampleNet", "--k", BIG], f"--k: {BIG} does not fit"),
    (["padding", "models.PoolUpsampleNet", "--k", "5", "--ref-k", BIG], "--ref-k: 9999"),
    (["padding", "models.PoolUpsampleNet", "--k", "5", "--nf", BIG], "--nf: 9999"),
    (["derive", "models.PoolUpsampleNet", "--fix", "S=" + "9" * 27], "--fix S: 999999…"),
    (["derive", "models.PoolUpsampleNet", "--fix", f"S={2**63 - 1}"], "more than PyTorch can"),
    (["check", "models.PoolUpsampleNet", "-e", "outputs=NF", "--arg", f"x={BIG}"], "--arg x:"),
]


@pytest.mark.parametrize(("args", "says"), OVERFLOW, ids=lambda v: str(v)[:60])
def test_integers_past_int64_are_a_sentence(ws, tiny, args, says):
    args = [tiny if a == "TINY" else a for a in args]
    line = ws.run(*args, says=says).stderr
    assert "Overflow" not in line and "long long" not in line


@pytest.mark.parametrize(
    ("extra", "tries"),
    [
        (["conv", "--in", "5", "--stride", BIG], "1e+40"),  # 2-D: (10^20 − 1)² ≈ 1e+40
        (["conv", "--in", "5,5,5", "--stride", "16,16,17"], "4,352"),  # 16·16·17, one past
        (["transposed", "--in", "5", "--dilation", "65"], "4,225"),  # 65², one dilation past
    ],
)
def test_padding_search_bounded_before_it_starts(ws, extra, tries):
    """The solver lists up to max(stride, dilation) paddings per dim: --stride 10^20 never
    finished; now one line before any search (64² = 4,096 still solves)."""
    ws.run("padding", extra[0], "--k", "3", *extra[1:], says=f"{tries} padding combinations")


def test_padding_search_at_the_bound_still_solves(ws):
    from typer.testing import CliRunner

    from archcount.cli.app import app

    r = CliRunner().invoke(app, ["padding", "conv", "--k", "3", "--in", "64", "--stride", "64"])
    assert r.exit_code == 0, r.output


FREEZE = [  # a glob that matches no parameter name must not leave everything trainable
    (["--training", "--freeze", "cnov.*"], "--freeze 'cnov.*' matches no parameter"),
    (["--training", "--freeze", "conv.*", "--freeze", "nothing*"], "'nothing*' matches no"),
    (["--fit", "1GiB", "--freeze", "Conv.*"], "did you mean 'conv.*'"),
]


@pytest.mark.parametrize(("extra", "says"), FREEZE, ids=lambda v: str(v)[:50])
def test_freeze_matching_nothing_is_refused(ws, tiny, extra, says):
    ws.run(tiny, *extra, says=says)
