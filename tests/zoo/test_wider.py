"""Issue 20's wider sweep, small: each model type counts whole (no unknown row, the weights
are the unique parameters), per example the same at batch 1 and 2, and the same on meta as on
CPU, warnings included. Where FlopCounterMode runs on meta, our rows explain its MACs exactly.
Skipped when transformers is not installed."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))  # zoo_models beside this file

from zoo_models import WIDER, counted

from archcount.peers.crosscheck import cross_check
from archcount.peers.flopcounter import PEER

NAMES = list(WIDER)


def _totals(report):
    t = report.totals
    return t.weights, t.outputs, t.connections, t.connections_exact, t.unknown


@pytest.mark.parametrize("name", NAMES)
def test_counts_whole_with_every_weight(name):
    model, *_, report = counted(name)
    assert report.totals.weights == sum(p.numel() for p in model.parameters())
    assert [(r.name, r.type) for r in report.layers if r.connections is None] == []


@pytest.mark.parametrize("name", NAMES)
def test_batch_two_gives_the_same_per_example_totals(name):
    *_, one = counted(name)
    *_, two = counted(name, batch=2)
    assert _totals(two) == _totals(one)
    assert two.warnings == one.warnings


@pytest.mark.parametrize("name", NAMES)
def test_cpu_equals_meta(name):
    *_, meta = counted(name)
    *_, cpu = counted(name, "cpu")
    assert _totals(cpu) == _totals(meta)
    assert cpu.warnings == meta.warnings


@pytest.mark.parametrize("name", ["wavlm", "fnet", "longt5", "prophetnet"])
def test_flopcounter_macs_explained_exactly(name):
    """(The others' forward reads values, which FlopCounterMode cannot on meta.)"""
    model, args, kwargs, report = counted(name)
    got = cross_check(report, model, args, kwargs=kwargs, meta=(model, args, kwargs), peers=(PEER,))
    (check,) = got.checks
    assert check.theirs > 0
    assert check.explained, [(d.layer, d.type, d.ours, d.expected, d.why) for d in check.diffs]
