"""--cross-check: agreement with torchinfo and fvcore where conventions match, and every
difference recomputed layer by layer under the peer's convention (the peers are the truth)."""

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import archcount
from archcount.cli.app import app
from archcount.peers.crosscheck import cross_check
from models import ConvTransposeNet, PoolUpsampleNet, UNet


def _check(model, size):
    x = torch.zeros(size)
    report = archcount.count(model, size)
    return {(c.peer, c.metric): c for c in cross_check(report, model, (x,)).checks}


@pytest.fixture(scope="module", params=[PoolUpsampleNet, ConvTransposeNet, UNet])
def net_checks(request):
    return _check(request.param(), (1, 1, 32, 32))


def test_both_peers_ran_all_metrics(net_checks):
    assert set(net_checks) == {
        ("torchinfo", "params"),
        ("torchinfo", "mult-adds"),
        ("fvcore", "params"),
        ("fvcore", "flops"),
        ("fvcore", "activations"),
        ("FlopCounterMode", "MACs"),
    }


def test_nets_params_agree_and_every_difference_is_explained(net_checks):
    assert net_checks["torchinfo", "params"].agree and net_checks["fvcore", "params"].agree
    for c in net_checks.values():
        assert c.explained, (c.peer, c.metric, c.expected, c.theirs)
        # each recomputed layer equals the peer's own number for that module
        assert all(d.peer is None or d.peer == d.expected for d in c.diffs), c.diffs
        assert all(d.why for d in c.diffs if d.ours != d.expected)


def test_nets_differences_are_the_known_conventions(net_checks):
    why = {d.type: d.why for d in net_checks["fvcore", "flops"].diffs}
    assert "2 FLOP(s) per element" in why["BatchNorm2d"]
    assert "Conv2d" not in why  # fvcore: one FLOP per MAC, bias left out, as archcount
    why = {d.type: d.why for d in net_checks["torchinfo", "mult-adds"].diffs}
    assert "adds the bias" in why["Conv2d"]


@pytest.mark.parametrize("bias", [False, True])
def test_linear_conv_toy_agrees_everywhere_without_bias(bias):
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=bias), nn.Flatten(), nn.Linear(4 * 8 * 8, 10, bias=bias)
    )
    checks = _check(model, (2, 3, 8, 8))
    assert all(c.explained for c in checks.values())
    fv = checks["fvcore", "flops"]
    assert fv.agree and checks["fvcore", "activations"].agree  # fvcore never counts biases
    macs = checks["torchinfo", "mult-adds"]
    assert macs.agree is not bias  # torchinfo adds bias x output positions
    if bias:
        extra = 4 * 8 * 8 + 10  # conv: C_out x positions; linear: out_features
        assert macs.theirs - macs.ours == extra


def test_transposed_conv_difference_explained_per_peer():
    conv_t = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    model = nn.Sequential(conv_t)
    checks = _check(model, (1, 4, 5, 5))
    ours = 5 * 5 * 4 * 2 * 9  # archcount: input positions x C_in x C_out x k^2
    ti = checks["torchinfo", "mult-adds"]
    (line,) = ti.diffs
    assert line.ours == ours and ti.ours == ours
    # torchinfo: (weights + bias) x output positions (10 x 10)
    assert line.expected == line.peer == ti.theirs == (4 * 2 * 9 + 2) * 10 * 10
    assert "output positions" in line.why and "input positions" in line.why
    fv = checks["fvcore", "flops"]  # fvcore: input positions, bias left out = archcount
    assert fv.agree and fv.theirs == ours and fv.diffs == ()


def test_cli_cross_check_json_and_functional():
    runner = CliRunner()
    r = runner.invoke(app, ["models.UNet", "--cross-check", "--functional", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["functional"]["added"] and d["functional"]["ops"][0]["op"] == "aten.cat"
    checks = d["cross_check"]["checks"]
    assert len(checks) == 6 and all(c["explained"] for c in checks)
    flops = next(c for c in checks if c["metric"] == "flops")
    # a cat is a copy, a view: 0 in archcount's totals as in fvcore's, no line to explain
    assert not any(x["type"] == "aten.cat" for x in flops["layers"])


def test_left_out_biases_and_norms_are_explained_too():
    model = ConvTransposeNet()
    report = archcount.count(model, (1, 1, 32, 32), include_bias=False, include_norm=False)
    checks = cross_check(report, model, (torch.zeros(1, 1, 32, 32),)).checks
    assert all(c.explained for c in checks)
    params = next(c for c in checks if c.peer == "torchinfo" and c.metric == "params")
    norms = [d for d in params.diffs if d.type == "BatchNorm2d"]
    assert len(norms) == 4 and all(d.ours == 0 and "--ignore-norm" in d.why for d in norms)


def test_small_tied_decoder_every_difference_explained(monkeypatch):
    """Attention, residual adds, a tied head: torchinfo counts the shared table twice."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[3] / "bench"))
    from scale_models import Decoder

    model = Decoder(vocab=100, context=16, width=32, depth=2, heads=4)
    ids = torch.zeros(1, 16, dtype=torch.long)
    report = archcount.count(model, example_input=ids)
    assert report.totals.unknown == ()
    checks = {(c.peer, c.metric): c for c in cross_check(report, model, (ids,)).checks}
    assert all(c.explained for c in checks.values()), [c.metric for c in checks.values()]
    assert checks["fvcore", "params"].agree
    shared = 100 * 32
    assert checks["torchinfo", "params"].theirs == report.totals.weights + shared
