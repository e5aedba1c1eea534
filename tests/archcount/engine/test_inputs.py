"""Any inputs: a tensor, a tuple of args, a dict of keyword args, plus example_kwargs."""

import pytest
import torch
from torch import nn

import archcount
from archcount.engine.walk import prepare
from archcount.errors import InputError


class TwoInputs(nn.Module):
    """a(x) + b(y): x positional, y positional or keyword, z keyword-only."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 3), nn.Linear(5, 3), nn.Linear(6, 3)

    def forward(self, x=None, y=None, *, z=None):
        out = self.b(y)
        if x is not None:
            out = out + self.a(x)
        return out + self.c(z) if z is not None else out


X, Y, Z = torch.zeros(2, 4), torch.zeros(2, 5), torch.zeros(2, 6)
# by hand, per example: weights 4*3+3 + 5*3+3; connections 3*4 + 3*5 (Linear rows only)
AB = (15 + 18, 12 + 15)


@pytest.mark.parametrize(
    ("example_input", "example_kwargs"),
    [((X, Y), None), ({"x": X, "y": Y}, None), (X, {"y": Y}), ([X], {"y": Y})],
)
def test_tuple_dict_and_kwargs_give_one_count(example_input, example_kwargs):
    r = archcount.count(TwoInputs(), example_input=example_input, example_kwargs=example_kwargs)
    layers = [x for x in r.layers if x.type == "Linear"]
    assert (sum(x.weights for x in layers), sum(x.connections for x in layers)) == AB
    assert r.input_shape == (2, 4)


def test_keyword_only_inputs_and_batch_from_the_first_tensor_kwarg():
    p = prepare(TwoInputs(), example_kwargs={"y": torch.zeros(3, 5), "z": torch.zeros(3, 6)})
    assert (p.args, list(p.kwargs), p.batch, p.input_shape) == ((), ["y", "z"], 3, (3, 5))
    r = archcount.count(
        TwoInputs(),
        example_input={"y": torch.zeros(3, 5)},
        example_kwargs={"z": Z[:1].expand(3, 6)},
    )
    assert {x.name for x in r.layers if x.type == "Linear"} == {"b", "c"}


def test_input_size_and_example_input_exclusive():
    with pytest.raises(InputError):
        prepare(TwoInputs(), (2, 4), example_input=X)
    with pytest.raises(InputError):
        prepare(TwoInputs())
