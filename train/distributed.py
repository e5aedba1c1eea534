"""Training on several processes through torchrun: who this process is, and the few collectives.

`torchrun --nproc_per_node N -m train ...` sets RANK, WORLD_SIZE and LOCAL_RANK. Each process
keeps the whole (small) data set resident on its device and takes a contiguous share of every
global batch; DistributedDataParallel averages the gradients, each rank's loss being scaled so
that the average is the gradient of the global batch's mean loss. BatchNorm statistics are
summed across ranks (SyncBatchNorm2d), so N processes compute what one process does with the
same global batch. Rank 0 alone writes files.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from train.errors import TrainError


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: rank among world processes, local_rank on its host."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 writes checkpoints, metrics and pictures, and prints."""
        return self.rank == 0


SINGLE = Dist()


def from_env() -> Dist:
    """RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them; one process when absent."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise TrainError(f"torchrun environment is malformed ({exc})") from None
    return Dist(rank, world, local) if world > 1 else SINGLE


def init(d: Dist, device: torch.device) -> torch.device:
    """Join the process group (NCCL for CUDA, gloo for the CPU); the device this rank uses."""
    if d.world == 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", d.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        # left once, at exit: joining a new group after leaving one in the same process (a
        # second run, e.g. --resume from Python) races torchrun's store and fails at random
        atexit.register(finish, d)
    return device


def finish(d: Dist) -> None:
    """Leave the process group (a no-op for one process); run at exit by init."""
    if d.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(t: torch.Tensor, d: Dist) -> torch.Tensor:
    """t summed over all ranks, in place (one all_reduce; a no-op for one process)."""
    if d.world > 1:
        dist.all_reduce(t)
    return t


def barrier(d: Dist) -> None:
    """Wait for every rank (e.g. until rank 0 has written the checkpoint others read)."""
    if d.world > 1:
        dist.barrier()


class SyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch over all ranks.

    torch's SyncBatchNorm runs on GPUs only; this one sums (Σx, Σx², count) with a
    differentiable all_reduce, so it works under gloo too and the backward sees the global
    statistics. With one process, or in eval mode, it is exactly BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        xf, dims, c = x.float(), (0, 2, 3), x.size(1)
        count = torch.full((1,), x.numel() // c, dtype=torch.float32, device=x.device)
        # the group named at each call: all_reduce's default is the WORLD of its first import,
        # stale once a run (e.g. before --resume) has left the group and joined a new one
        group = dist.group.WORLD
        stats = all_reduce(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]), group=group)
        n = stats[-1]
        mean = stats[:c] / n
        var = stats[c : 2 * c] / n - mean * mean
        self._update_running(mean.detach(), var.detach() * n / (n - 1))
        y = (xf - mean.view(1, c, 1, 1)) * torch.rsqrt(var + self.eps).view(1, c, 1, 1)
        if self.affine:
            y = y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        """running = (1 - m) running + m batch, as BatchNorm2d does (cumulative when m is None)."""
        if not self.track_running_stats:
            return
        self.num_batches_tracked += 1
        m = self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked)
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased_var, alpha=m)


def sync_batchnorm(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d in model by a SyncBatchNorm2d holding the same state."""
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d) and not isinstance(child, SyncBatchNorm2d):
            new = SyncBatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            ).to(child.weight.device if child.affine else None)
            new.load_state_dict(child.state_dict())
            new.train(child.training)
            setattr(model, name, new)
        else:
            sync_batchnorm(child)
    return model


def wrap(model: nn.Module, d: Dist, device: torch.device) -> nn.Module:
    """DistributedDataParallel around model for several processes; the model itself for one."""
    if d.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # Buffers (BN running stats) stay equal on every rank by construction: no per-step broadcast.
    return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)
