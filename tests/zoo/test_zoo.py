"""The zoo: real transformers architectures, small, counted on meta (and CPU for a few).

Each model asserts the contracts on a real architecture: the weights are the unique
parameters, no row is unknown, FlopCounterMode's MACs (on meta) are explained exactly by our
rows recomputed under its convention, and batch 2 gives the same per-example totals as
batch 1. A couple also run on CPU, where attention and recurrent kernels are fused, and must
give identical totals. Skipped when transformers is not installed.
"""

import sys
from functools import cache
from pathlib import Path

import pytest

pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))  # zoo_models beside this file

from zoo_models import ZOO, build

import archcount
from archcount.peers.crosscheck import cross_check
from archcount.peers.flopcounter import PEER

NAMES = list(ZOO)
ON_CPU = ["gpt2", "resnet"]


@cache
def counted(model_type: str, device: str = "meta", batch: int = 1):
    """(model, args, kwargs, report) of one zoo model, counted once per device and batch."""
    model, args, kwargs = build(model_type, device, batch)
    report = archcount.count(model, example_input=args or None, example_kwargs=kwargs)
    return model, args, kwargs, report


def _totals(report):
    t = report.totals
    return t.weights, t.outputs, t.connections, t.connections_exact


@pytest.mark.parametrize("name", NAMES)
def test_weights_are_the_unique_parameters(name):
    model, *_, report = counted(name)
    assert report.totals.weights == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_no_row_is_unknown(name):
    *_, report = counted(name)
    unknown = [(r.name, r.type) for r in report.layers if r.connections is None]
    assert unknown == [], report.warnings


@pytest.mark.parametrize("name", NAMES)
def test_flopcounter_macs_explained_exactly(name):
    model, args, kwargs, report = counted(name)
    (check,) = cross_check(
        report, model, args, kwargs=kwargs, meta=(model, args, kwargs), peers=(PEER,)
    ).checks
    assert check.theirs > 0
    assert check.explained, [(d.layer, d.type, d.ours, d.expected, d.why) for d in check.diffs]


@pytest.mark.parametrize("name", NAMES)
def test_batch_two_gives_the_same_per_example_totals(name):
    *_, one = counted(name)
    *_, two = counted(name, batch=2)
    assert _totals(two) == _totals(one)
    assert not [w for w in two.warnings if "multiple of the batch" in w]


@pytest.mark.parametrize("name", ON_CPU)
def test_cpu_totals_equal_meta_totals(name):
    *_, meta = counted(name)
    *_, cpu = counted(name, "cpu")
    assert _totals(cpu) == _totals(meta)
