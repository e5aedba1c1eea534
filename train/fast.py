"""The speed settings of a run, resolved once from its config and device.

Everything the CUDA fast path switches on is plain data here (Speed), so the same loop runs it
on the CPU in the tests: channels_last weights, fused Adam, cudnn.benchmark, TF32 matmuls, and
torch.compile on static shapes (CUDA graphs through mode="reduce-overhead" on a GPU).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Speed:
    """What the loop does for speed; none of it changes the arithmetic beyond float rounding
    (TF32 and bf16 excepted, which round on purpose)."""

    channels_last: bool  # NHWC weights: 1.3-1.6x per CPU step on all three nets (bench/)
    fused_adam: bool  # one kernel for the whole optimizer step (CUDA: fewer launches)
    cudnn_benchmark: bool  # shapes are fixed, so cudnn's autotuned kernels are reused
    tf32: bool  # TF32 tensor cores for fp32 matmuls and convs (H100/H200)
    compile_mode: str | None  # None: eager; "reduce-overhead" = inductor + CUDA graphs
    static_shapes: bool  # compiled graphs only ever see full batches (train and eval)

    @property
    def cuda_graphs(self) -> bool:
        """reduce-overhead replays CUDA graphs, whose outputs the next replay overwrites."""
        return self.compile_mode == "reduce-overhead"


def resolve_speed(channels_last: bool | None, compile: bool, cuda: bool) -> Speed:
    """Speed for a run: channels_last on unless switched off; the CUDA-only switches when cuda."""
    return Speed(
        channels_last=True if channels_last is None else channels_last,
        fused_adam=cuda,
        cudnn_benchmark=cuda,
        tf32=cuda,
        compile_mode=("reduce-overhead" if cuda else "default") if compile else None,
        static_shapes=compile,
    )


@contextlib.contextmanager
def backend_flags(speed: Speed) -> Iterator[None]:
    """Set cudnn.benchmark and TF32 for the run and put the previous values back after it."""
    saved = (
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    torch.backends.cudnn.benchmark = speed.cudnn_benchmark
    torch.backends.cuda.matmul.allow_tf32 = speed.tf32
    torch.backends.cudnn.allow_tf32 = speed.tf32
    try:
        yield
    finally:
        (
            torch.backends.cudnn.benchmark,
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
        ) = saved


def prepare_model(model: nn.Module, speed: Speed) -> nn.Module:
    """The model in the memory format the run uses (in place; returned for chaining)."""
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def make_optimizer(model: nn.Module, lr: float, speed: Speed) -> torch.optim.Optimizer:
    """Adam with the homework's defaults; fused into one kernel when the speed says so."""
    if speed.fused_adam:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    return torch.optim.Adam(model.parameters(), lr=lr)


def compile_model(model: nn.Module, mode: str):
    """torch.compile with fixed shapes (the loop feeds it only full batches); tests patch this."""
    return torch.compile(model, mode=mode, dynamic=False)


def step_begin(speed: Speed) -> None:
    """Tell the CUDA-graph tree a new iteration starts, so the last one's outputs may be reused."""
    if speed.cuda_graphs:
        torch.compiler.cudagraph_mark_step_begin()
