"""Which images go into which step: the starter's one shuffle, or a fresh shuffle per epoch.

The homework's starter code seeds numpy (`npr.seed(seed)`), shuffles the training horses once
and then the test horses once (`npr.shuffle` inside `process`), and walks both in that fixed
order every epoch. `Shuffle.ONCE` (train.config) reproduces those two permutations exactly;
`Shuffle.EPOCH` draws a new order each epoch from torch's generator seeded by (seed, epoch), so
a resumed run replays it.
"""

from __future__ import annotations

import numpy as np
import torch


def starter_permutations(n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The starter's orders: npr.seed(seed), then npr.shuffle of the training and test images."""
    state = np.random.RandomState(seed)  # the legacy generator npr.seed/npr.shuffle drive
    train, test = np.arange(n_train), np.arange(n_test)
    state.shuffle(train)  # shuffling indices draws the same swaps as shuffling the images
    state.shuffle(test)
    return train, test


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle of epoch `epoch` under Shuffle.EPOCH, a function of (seed, epoch) only."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


def step_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """[start, stop) of each step's global batch; the last one may be short, as in the starter."""
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def rank_share(start: int, stop: int, rank: int, world: int) -> tuple[int, int]:
    """The contiguous part of a global batch [start, stop) that process `rank` of `world` takes."""
    size = stop - start
    return start + size * rank // world, start + size * (rank + 1) // world
