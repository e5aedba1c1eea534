"""Training cost of a 1.3B-parameter decoder on meta: archcount's pass vs FlopCounterMode.

archcount prices the backward from the recorded forward (one forward under a dispatch mode and
saved-tensor hooks); FlopCounterMode runs a real loss.backward() on meta. The two alternate in
one process, best and median of the rounds are compared, and both must agree on the backward
FLOPs (2 per multiply-add). Peak RSS is printed after each round: it stays flat (meta tensors
hold no memory).

    python bench/bench_training_cost.py [--rounds 3] [--batch 1] [--seq 1024]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from archcount.training.cost import training_cost
from archcount.training.options import TrainingOptions


def decoder():
    """GPT-2 architecture at n_embd 2048, 24 layers, 16 heads (1.3B parameters), on meta."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_embd=2048, n_layer=24, n_head=16, attn_pdrop=0.0, resid_pdrop=0.0,
                        embd_pdrop=0.0)  # fmt: skip
    with torch.device("meta"):
        return GPT2LMHeadModel(config)


def ours(model, ids, batch):
    cost = training_cost(model, (ids,), TrainingOptions(batch))
    return cost.forward_macs, cost.backward_macs, cost


def flop_counter(model, ids):
    counter = FlopCounterMode(display=False)
    with counter:
        logits = model(ids).logits
        forward = counter.get_total_flops()
        logits.float().sum().backward()
    model.zero_grad(set_to_none=True)
    return forward // 2, (counter.get_total_flops() - forward) // 2


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=1024)
    a = ap.parse_args()
    model = decoder().train()
    params = sum(p.numel() for p in model.parameters())
    ids = torch.zeros(a.batch, a.seq, dtype=torch.long, device="meta")
    print(f"decoder: {params / 1e9:.3f}B parameters, batch {a.batch}, sequence {a.seq}, meta")
    ours(model, ids, a.batch)  # warm-up: both pay the meta kernels' first imports once
    flop_counter(model, ids)
    times = {"archcount": [], "FlopCounterMode": []}
    for r in range(a.rounds):
        t = time.perf_counter()
        fwd, bwd, cost = ours(model, ids, a.batch)
        times["archcount"].append(time.perf_counter() - t)
        t = time.perf_counter()
        ref_fwd, ref_bwd = flop_counter(model, ids)
        times["FlopCounterMode"].append(time.perf_counter() - t)
        same = (fwd, bwd) == (ref_fwd, ref_bwd)
        print(f"round {r + 1}: archcount {times['archcount'][-1]:.2f} s, FlopCounterMode "
              f"{times['FlopCounterMode'][-1]:.2f} s; backward MACs {bwd:,} "
              f"{'=' if same else '!='} {ref_bwd:,}; peak RSS {rss_mib():.0f} MiB")  # fmt: skip
    best = min(times["archcount"]) / min(times["FlopCounterMode"])
    median = statistics.median(times["archcount"]) / statistics.median(times["FlopCounterMode"])
    print(f"time ratio archcount / FlopCounterMode: best {best:.2f}x, median {median:.2f}x "
          "(goal <= 1.0x)")  # fmt: skip
    print(f"training MACs {cost.training_macs:,}; saved {cost.saved_bytes / 2**30:.2f} GiB; "
          f"estimated peak (adam, fp32) {cost.peak_bytes / 2**30:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
