"""--freeze: every glob must name a parameter; the parameters' flags are untouched on refusal."""

import pytest
from torch import nn

from archcount.errors import InputError
from archcount.training.cost import training_cost
from archcount.training.options import TrainingOptions


def _net():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Conv2d(2, 1, 1))


def test_a_glob_matching_nothing_is_refused_and_nothing_is_frozen():
    import torch

    model = _net()
    model[2].weight.requires_grad_(False)  # the user's own freezing survives the refusal
    flags = [p.requires_grad for p in model.parameters()]
    options = TrainingOptions(2, freeze=("0.*", "3.*"))
    with pytest.raises(InputError, match=r"--freeze '3\.\*' matches no parameter"):
        training_cost(model, (torch.zeros(2, 1, 6, 6),), options)
    assert [p.requires_grad for p in model.parameters()] == flags


def test_a_near_miss_is_offered_the_module_glob():
    import torch

    with pytest.raises(InputError, match=r"did you mean '1\.\*'"):
        training_cost(_net(), (torch.zeros(2, 1, 6, 6),), TrainingOptions(2, freeze=("1.+",)))


def test_globs_that_match_freeze_exactly_those_parameters():
    import torch

    x = (torch.zeros(2, 1, 6, 6),)
    cost = training_cost(_net(), x, TrainingOptions(2, freeze=("0.*", "1.weight")))
    # 0: 2*1*9 + 2 = 20 frozen; 1.weight: 2 frozen; trainable: 1.bias 2 + 2.* (2 + 1) = 5
    assert (cost.frozen, cost.trainable) == (22, 5)
