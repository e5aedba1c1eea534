"""One module stack: count, training cost and receptive field give a row to the same module
calls, in the same order, on every zoo model, the homework nets and a norm subclass with a
child (whose child counts on its own row, as the built-in rules cover only their own code)."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import archcount
from archcount.engine.rules import BACKWARD_RULES, RULES
from archcount.engine.stack import row_modules
from archcount.errors import InputError
from archcount.receptive.run import receptive_fields
from archcount.records import Source
from archcount.training.trace import trace
from models import ConvTransposeNet, PoolUpsampleNet, UNet

sys.path.insert(0, str(Path(__file__).parent))
from zoo_models import ZOO, build


def rows_of_each_pass(model: nn.Module, args: tuple, kwargs: dict) -> dict[str, list[str]]:
    """The row labels each pass gives, in the order the calls finished."""
    report = archcount.count(model, example_input=args or None, example_kwargs=kwargs)
    root = type(model).__name__
    targets = row_modules(model, RULES, root)
    rows = {
        "count": [x.label for x in report.layers if x.source is not Source.FUNCTIONAL],
        "training": trace(model, args, targets, RULES, BACKWARD_RULES, root, kwargs).calls,
    }
    try:
        fields = receptive_fields(model, example_input=args or kwargs)
        rows["receptive"] = [x.label for x in fields.layers]
    except InputError:  # no spatial input: no receptive fields
        pass
    return rows


def _assert_same(rows: dict[str, list[str]]) -> None:
    assert rows["count"], "no rows at all"
    for name, labels in rows.items():
        assert labels == rows["count"], name


class BatchNormAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d: a BatchNorm2d (its rule) with an `act` child."""

    def __init__(self, c):
        super().__init__(c)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(super().forward(x))


def test_a_norm_subclass_child_has_its_row_in_every_pass():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), BatchNormAct(2))
    rows = rows_of_each_pass(model, (torch.zeros(2, 1, 6, 6),), {})
    assert rows["count"] == ["0", "1.act", "1"]
    _assert_same(rows)


@pytest.mark.parametrize("net", [PoolUpsampleNet, ConvTransposeNet, UNet])
def test_homework_nets(net):
    model = net(kernel=3, num_filters=2, num_colours=3, num_in_channels=1)
    _assert_same(rows_of_each_pass(model, (torch.zeros(2, 1, 32, 32),), {}))


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_models(name):
    pytest.importorskip("transformers")
    model, args, kwargs = build(name, "cpu", batch=2)  # batch 2: BatchNorm trains on it
    _assert_same(rows_of_each_pass(model, args, kwargs))
