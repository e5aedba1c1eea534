"""Small models the CLI tests load as TARGETs (tests put this folder on sys.path)."""

import torch
from torch import nn


def tiny(width: int = 4):
    """Conv -> ReLU -> pool -> flatten -> linear: every kind of row, 3x8x8 input."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(width * 16, 10),
    )


def not_a_module():
    return {"weights": 3}


def raises():
    raise RuntimeError("boom in constructor")


class Lookup(nn.Module):
    """Token ids in, an unsupported element-wise op in the middle."""

    def __init__(self, vocab: int = 50):
        super().__init__()
        self.emb = nn.Embedding(vocab, 8)
        self.out = nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.emb(ids))


class Line(nn.Module):
    """A 1-D conv net in its own argument names: Conv1d(channels -> width, k), ReLU, 1x1 head.

    On a channels x L input (padding k // 2, odd k): weights width*(channels*k + 3) + 2,
    outputs L*(width + 2), connections L*width*(channels*k + 2); exact drops the
    channels*width*(k² - 1)/4 taps on zero padding.
    """

    def __init__(self, channels: int = 4, width: int = 8, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(channels, width, kernel, padding=kernel // 2)
        self.act = nn.ReLU()
        self.head = nn.Conv1d(width, 2, 1)

    def forward(self, x):
        return self.head(self.act(self.conv(x)))


BUILT: list[str] = []  # the device of each call of `recorded`


def recorded(width: int = 4):
    """tiny(width), noting the device it is built on in BUILT."""
    BUILT.append(torch.empty(0).device.type)
    return tiny(width)


class Keywords(nn.Module):
    """forward(input_ids, attention_mask=None): keyword inputs, an embedding scaled by the mask."""

    def __init__(self, vocab: int = 10, width: int = 3):
        super().__init__()
        self.emb = nn.Embedding(vocab, width)

    def forward(self, input_ids, attention_mask=None):
        x = self.emb(input_ids)
        return x if attention_mask is None else x * attention_mask[..., None]
