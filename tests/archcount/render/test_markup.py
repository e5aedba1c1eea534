"""Rich markup and emoji codes in what a user names (models, layers, types, patterns) are
printed as written, in every table and message of a count."""

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcount.cli.app import app

HERE = Path(__file__).parent
LITERAL = ("[red]x:llama:[/]", "[bold]Odd:llama:[/]")


@pytest.fixture
def nets(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    return importlib.import_module("nets")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.usefixtures("nets")
@pytest.mark.parametrize(
    "extra",
    [(), ("--depth", "1"), ("--training", "--freeze", "[bold]*"), ("--receptive-field",)],
    ids=["layers", "modules", "training", "receptive"],
)
def test_names_with_markup_are_printed_as_written(extra):
    r = invoke("nets:markup_net", "--input-shape", "1,8,8", *extra)
    assert r.exit_code == 0, r.output
    for name in LITERAL if extra != ("--depth", "1") else LITERAL[:1]:
        assert name in r.stdout, name
    assert "🦙" not in r.stdout
    if "--freeze" in extra:  # '[bold]*' is a glob: [bold] one of b, o, l, d; it froze 'body'
        assert "frozen [bold]*" in r.stdout


def test_an_emoji_code_in_a_target_stays_text():
    pytest.importorskip("transformers")
    tiny = ("num_hidden_layers=1", "hidden_size=16", "intermediate_size=32", "vocab_size=50",
            "num_attention_heads=2", "num_key_value_heads=2")  # fmt: skip
    args = [x for a in tiny for x in ("--arg", a)]
    r = invoke("hf:llama:causal-lm", *args, "--input-shape", "8", "--device", "meta")
    assert r.exit_code == 0, r.output
    assert "hf:llama:causal-lm (LlamaForCausalLM) on 1×8" in r.stdout
    assert "🦙" not in r.stdout


def test_an_emoji_code_in_an_error_stays_text():
    r = invoke("hf:llama:nope")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: hf:llama:nope:") and "🦙" not in r.stderr
