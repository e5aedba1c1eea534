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
