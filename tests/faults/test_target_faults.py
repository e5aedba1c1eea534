"""TARGETs that fail at import, in the constructor or in forward: one line, never a traceback."""

from __future__ import annotations

import json

import pytest

AT_IMPORT = [
    ("1 / 0\n", "raised ZeroDivisionError: division by zero"),
    ("def f(:\n    pass\n", "has a syntax error"),
    ("import sys\nsys.exit(0)\n", "raised SystemExit"),  # exit 0 at import: no silent success
    ("import sys\nsys.exit('bye')\n", "raised SystemExit: bye"),
    ("raise MemoryError\n", "raised MemoryError"),
    ("import no_such_package_xyz\n", "No module named 'no_such_package_xyz'"),
    ("x = 1\n", "has no attribute 'Net'"),
]


@pytest.mark.parametrize(("source", "says"), AT_IMPORT, ids=[s for _, s in AT_IMPORT])
def test_module_failing_at_import(ws, source, says):
    ws.run(f"{ws.module(source)}.Net", says=says)


def test_module_interrupted_at_import(ws):
    ws.run(f"{ws.module('raise KeyboardInterrupt')}.Net", code=130, says="interrupted")


@pytest.mark.parametrize(
    "target",
    [
        "../p/models.PoolUpsampleNet",
        "models/pool_upsample.py:PoolUpsampleNet",
        "/etc/passwd.Net",
        "models.PoolUpsampleNet.__class__.__base__",
        "models. PoolUpsampleNet",
        "mödels.Net",
    ],
)
def test_path_like_or_odd_targets(ws, target):
    says = "not a file path" if "ö" not in target and "__" not in target else None
    ws.run(target, says=says)


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("nosuchpkg_abc.Net", "cannot import module 'nosuchpkg_abc'"),
        ("notatarget", "TARGET must look like"),
        ("os:getcwd", "returned str, not a torch.nn.Module"),
        ("os:system", "does not take"),  # never called without its argument
        ("builtins:exit", "called sys.exit"),
        ("json.decoder", "is not a class or a function"),
    ],
)
def test_targets_that_are_no_model(ws, target, says):
    ws.run(target, says=says)


FACTORIES = """
import sys
from torch import nn


class Self(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.me = self

    def forward(self, x):
        return self.conv(x)


def deep():
    m = nn.Conv2d(3, 3, 1)
    for _ in range(2000):
        m = nn.Sequential(m)
    return m


def exits():
    sys.exit(3)


def interrupts():
    raise KeyboardInterrupt


def out_of_memory():
    raise MemoryError


def fails():
    raise ValueError("bad\\nthing\\n\\nacross lines")


class ForwardExits(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        sys.exit(4)


class ForwardInterrupted(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        raise KeyboardInterrupt


class ForwardRecurses(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self(x)
"""


@pytest.mark.parametrize(
    ("name", "code", "says"),
    [
        ("Self", 2, "the model contains itself"),
        (":deep", 2, "nests modules deeper than Python's limit"),
        (":exits", 2, "called sys.exit(3)"),
        (":interrupts", 130, "interrupted"),
        (":out_of_memory", 2, "MemoryError"),
        (":fails", 2, "bad thing across lines"),
        ("ForwardExits", 2, "sys.exit"),
        ("ForwardInterrupted", 130, "interrupted"),
        ("ForwardRecurses", 2, "recursion"),
    ],
)
def test_factories_that_misbehave(ws, name, code, says):
    module = ws.module(FACTORIES)
    target = f"{module}{name}" if name.startswith(":") else f"{module}.{name}"
    ws.run(target, "--size", "8", code=code, says=says)


def test_debug_gives_the_traceback(ws):
    from typer.testing import CliRunner

    from archcount.cli.app import app

    r = CliRunner().invoke(app, [f"{ws.module('1 / 0')}.Net", "--debug"])
    assert r.exit_code != 0 and r.exception is not None


CHATTY = """
from torch import nn


class Chatty(nn.Module):
    def __init__(self, num_filters=4, kernel=3):
        super().__init__()
        print("hello from __init__")
        self.conv = nn.Conv2d(3, num_filters, kernel, padding=kernel // 2)

    def forward(self, x):
        print("hello from forward")
        return self.conv(x)
"""


@pytest.mark.parametrize("command", [[], ["padding"]])
def test_json_stdout_is_only_json_when_the_model_prints(ws, command):
    from typer.testing import CliRunner

    from archcount.cli.app import app

    target = f"{ws.module(CHATTY)}.Chatty"
    args = [*command, target, "--json", "--size", "8"] + (["--k", "5"] if command else [])
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # nothing but the JSON object
    assert "hello from forward" in r.stderr and "hello from" not in r.stdout


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("x=1,١٢٨", "SHAPE wants positive integers written with 0-9"),  # Arabic-Indic digits
        ("x=1,²", "SHAPE wants positive integers written with 0-9"),  # int('²') fails
        ("x=1,99999999999999999999999", "20 digits or more is more than PyTorch holds"),
        ("x=1," + "9" * 5000, "20 digits or more"),  # past int()'s 4,300-digit limit
        ("x=4611686018427387904,4", "more than PyTorch can hold (2^63 bytes)"),
        ("x=1152921504606846976,1:long", "more than PyTorch can hold"),  # 2^63 bytes of longs
    ],
)
def test_input_sizes_are_a_sentence_about_the_input(ws, tiny, given, says):
    """Issue 21 item 7: no 'Overflow when unpacking long long', no int() message."""
    result = ws.run(tiny, "--input", given, "--input-shape", "3,8,8", says=says)
    assert "--input x" in result.stderr


@pytest.mark.parametrize(
    "shape",
    ["99999999999999999999999", "1,4611686018427387904", "2305843009213693952,2"],
)
def test_huge_input_shape_of_an_hf_model_is_a_sentence(ws, shape):
    pytest.importorskip("transformers")
    r = ws.run("hf:gpt2", "--arg", "n_layer=1", "--input-shape", shape, "--device", "meta")
    assert "Overflow" not in r.stderr and "more than PyTorch can hold" in r.stderr
