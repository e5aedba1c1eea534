"""The homework nets' training totals in closed form (as the README gives them), derived by
`derive --training`, and checked at other batches against the independent routes."""

import json

import pytest
import sympy
from training_nets import flop_route, hooks_route, tracked_peak
from typer.testing import CliRunner

from archcount.cli.app import app
from archcount.front.space import sampled
from archcount.front.training import derive_training_target
from archcount.training.cost import LOSS_OUTPUTS
from archcount.training.options import Optimizer, TrainingOptions

# per example at 32×32, fp32, adam; the README's table (`archcount derive … --training --vars B`)
FORMS = {
    "PoolUpsampleNet": {
        "forward_macs": "13271040*B",
        "backward_macs": "26247168*B",
        "backward_input_macs": "12976128*B",
        "backward_weight_macs": "13271040*B",
        "saved_bytes": "659456*B + 1216",
        "param_bytes": "198912",
        "grad_bytes": "198912",
        "optimizer_bytes": "397824",
        "activation_bytes": "954368*B + 1216",
        "peak_bytes": "954368*B + 798112",
    },
    "ConvTransposeNet": {
        "forward_macs": "9510912*B",
        "backward_macs": "18948096*B",
        "backward_input_macs": "9437184*B",
        "backward_weight_macs": "9510912*B",
        "saved_bytes": "364544*B + 1216",
        "param_bytes": "198912",
        "grad_bytes": "198912",
        "optimizer_bytes": "397824",
        "activation_bytes": "659456*B + 1216",
        "peak_bytes": "659456*B + 798112",
    },
}


def at(net: str, quantity: str, batch: int) -> int:
    return int(sympy.sympify(FORMS[net][quantity]).subs("B", batch))


@pytest.mark.parametrize("net", FORMS)
def test_derive_gives_the_readme_forms(net):
    forms = derive_training_target(sampled(f"models.{net}"), ["B"], {}, TrainingOptions())
    assert forms.to_dict()["training"] == FORMS[net]


def test_conv_transpose_net_by_hand():
    """Per example: five convs' MACs; saved: x, and each BN's input and each ReLU's output (the
    next conv saves that same storage), plus 2 statistics × 152 channels; parameters 4 bytes,
    Adam 8 bytes per weight; 3 output-sized loss tensors."""
    f = 16 * 16 * 32 * 9 + 8 * 8 * 64 * 32 * 9 * 2 + 16 * 16 * 32 * 24 * 9 + 32 * 32 * 24 * 24 * 9
    saved = 4 * (32 * 32 + 2 * (32 * 16 * 16 + 64 * 8 * 8 + 32 * 16 * 16 + 24 * 32 * 32))
    out = 4 * 24 * 32 * 32
    assert at("ConvTransposeNet", "forward_macs", 1) == f
    assert at("ConvTransposeNet", "backward_input_macs", 1) == f - 16 * 16 * 32 * 9
    assert FORMS["ConvTransposeNet"]["saved_bytes"] == f"{saved}*B + {2 * 152 * 4}"
    assert at("ConvTransposeNet", "activation_bytes", 1) == saved + 1216 + LOSS_OUTPUTS * out
    assert at("ConvTransposeNet", "param_bytes", 1) == 4 * 49_728
    assert at("ConvTransposeNet", "optimizer_bytes", 1) == 8 * 49_728


@pytest.mark.parametrize("net", FORMS)
def test_forms_against_the_routes_at_batch_5(net):
    """FlopCounterMode around a real backward, saved-tensor hooks in a real CPU forward, and
    MemTracker (less the grads the estimate holds, plus the targets it leaves out)."""
    forward, backward, _ = flop_route(net, batch=5)
    assert (forward, backward) == (2 * at(net, "forward_macs", 5), 2 * at(net, "backward_macs", 5))
    assert hooks_route(net, batch=5) == at(net, "saved_bytes", 5)
    peak, targets = tracked_peak(net, 5, Optimizer.ADAM)
    estimate = at(net, "peak_bytes", 5) - at(net, "grad_bytes", 5) + targets
    assert 0 <= peak - estimate < 1024


def test_derive_cli_json():
    r = CliRunner().invoke(
        app, ["derive", "models.ConvTransposeNet", "--training", "--vars", "B", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["training"] == FORMS["ConvTransposeNet"]
