"""The homework starter code's training loop, transcribed: the reference train.loop is held to.

What the starter does, step by step: numpy is seeded and the training and test horses are each
shuffled once (train.data.order.starter_permutations); float64 numpy batches are walked in that
fixed order, converted with torch.from_numpy(...).float() and copied to the device every step;
the loss goes through transpose(1, 3).contiguous().view(...) into nn.CrossEntropyLoss;
loss.item() is read every step; the epoch's training loss is the mean of the step losses;
validation runs every epoch in eval mode, its loss the mean of the per-batch mean losses.

One adaptation: the starter reshapes with the configured batch size, so a short last batch
(516 horses at batch 100) would fail; here the reshape uses the batch's own size. The net's
weights come from train.loop.build_model (torch seeded), as in train.loop, so the two loops
start from the same weights.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from train.data.order import starter_permutations


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int):
    """The starter's get_batch: consecutive slices, the last one possibly short."""
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size], y[i : i + batch_size]


def _loss(criterion, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The starter's compute_loss: channels moved last, then one row per pixel."""
    n, k = outputs.shape[0], outputs.shape[1]
    flat_out = outputs.transpose(1, 3).contiguous().view([n * 32 * 32, k])
    flat_lab = labels.transpose(1, 3).contiguous().view([n * 32 * 32])
    return criterion(flat_out, flat_lab)


def starter_arrays(data, seed: int):
    """Float64 gray images and (N, 1, 32, 32) integer targets in the starter's shuffled order."""
    perm_tr, perm_te = starter_permutations(len(data.train_x), len(data.test_x), seed)
    train = (data.train_x.numpy().astype(np.float64)[perm_tr], data.train_y.numpy()[perm_tr, None])
    test = (data.test_x.numpy().astype(np.float64)[perm_te], data.test_y.numpy()[perm_te, None])
    return train, test


def train_step(model, opt, criterion, bx: np.ndarray, by: np.ndarray, device) -> float:
    """One starter step: numpy batch -> tensors on the device, forward, backward, Adam, item()."""
    images = torch.from_numpy(bx).float().to(device)
    labels = torch.from_numpy(by).long().to(device)
    opt.zero_grad()
    loss = _loss(criterion, model(images), labels)
    loss.backward()
    opt.step()
    return loss.item()


def train_epoch(model, opt, criterion, xs, ys, batch_size: int, device) -> float:
    """One starter epoch; its loss is the mean of the steps' losses."""
    model.train()
    losses = [
        train_step(model, opt, criterion, bx, by, device) for bx, by in _batches(xs, ys, batch_size)
    ]
    return float(np.mean(losses))


@torch.no_grad()
def validate(model, criterion, xs, ys, batch_size: int, device) -> tuple[float, float]:
    """The starter's run_validation_step: mean of per-batch mean losses, pixel accuracy."""
    model.eval()
    losses, correct, total = [], 0, 0
    for bx, by in _batches(xs, ys, batch_size):
        images = torch.from_numpy(bx).float().to(device)
        labels = torch.from_numpy(by).long().to(device)
        outputs = model(images)
        losses.append(_loss(criterion, outputs, labels).item())
        predicted = torch.max(outputs, 1, keepdim=True).indices
        correct += int((predicted == labels).sum())
        total += labels.numel()
    return float(np.mean(losses)), correct / total


def run(cfg, data, device="cpu") -> list[dict]:
    """cfg.epochs starter epochs of cfg.model; rows of train_loss, val_loss, val_acc, seconds."""
    from train.loop import build_model

    model = build_model(cfg, data.num_colours).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    criterion = nn.CrossEntropyLoss()
    (xs, ys), (xt, yt) = starter_arrays(data, cfg.seed)
    rows = []
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        train_loss = train_epoch(model, opt, criterion, xs, ys, cfg.batch_size, device)
        val_loss, val_acc = validate(model, criterion, xt, yt, cfg.batch_size, device)
        row = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss}
        rows.append({**row, "val_acc": val_acc, "seconds": time.perf_counter() - t0})
    return rows
