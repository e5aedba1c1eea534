"""Fixtures of the engine tests."""

import pytest
from torch import nn


class Functional(nn.Module):
    """Arithmetic written in forward (a child, so the model is no leaf): functional ops only."""

    def __init__(self, op):
        super().__init__()
        self.op, self.pre = op, nn.Identity()

    def forward(self, x):
        return self.op(self.pre(x))


@pytest.fixture
def functional_net():
    """A model whose forward is op(x): Functional(op)."""
    return Functional
