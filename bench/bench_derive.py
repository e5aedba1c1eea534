"""Time to derive all four totals of PoolUpsampleNet in NIC, NF, NC, k, S, against one count.

    python bench/bench_derive.py [--target models.PoolUpsampleNet] [--repeat 1]

Baseline, measured in the same run: one `count_target` on meta (build, hooked forward, rows).
The ratio says how many counts' worth the derivation costs; the number of distinct sample
points it counted is printed beside it (each point is one forward, reused for all four totals,
every layer and both conventions).
"""

from __future__ import annotations

import argparse
import statistics
import time


def one_count(target: str) -> float:
    """Seconds for a single count at the defaults (the baseline)."""
    from archcount.front.request import CountRequest, count_target

    t0 = time.perf_counter()
    count_target(CountRequest(target))
    return time.perf_counter() - t0


def one_derivation(target: str):
    """(seconds, derivation) for all four totals in the default five symbols."""
    from archcount.formulas.derive import derive
    from archcount.front.space import plan, sampled
    from archcount.records import Options

    model = sampled(target)
    p = plan(model, None, {})
    t0 = time.perf_counter()
    d = derive(model.space, target, p.variables, p.fixed, Options())
    return time.perf_counter() - t0, d


def main() -> None:
    """Warm up, then print the baseline, the derivation, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="models.PoolUpsampleNet")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from archcount.formulas.parallel import cores

    one_count(args.target)  # imports and torch's first-use warm-up stay out of both clocks
    base = statistics.median(one_count(args.target) for _ in range(20))
    runs = [one_derivation(args.target) for _ in range(args.repeat)]
    seconds = statistics.median(s for s, _ in runs)
    d = runs[0][1]
    names = ", ".join(v.name for v in d.variables)
    print(f"target       {args.target} ({names}; {cores()} cores)")
    print(f"baseline     one count: {base * 1000:.1f} ms (median of 20)")
    print(f"derivation   {seconds:.2f} s for 4 totals, {len(d.layers[0])} layers, 2 conventions")
    print(f"samples      {d.samples} counted points (grid {_grid(d)})")
    print(f"ratio        derivation / one count = {seconds / base:.0f}x")
    print(f"restrictions {', '.join(r.text() for r in d.restrictions) or 'none'}")


def _grid(d) -> str:
    return " × ".join(f"{len(n)} {v.name}" for v, n in zip(d.variables, d.nodes))


if __name__ == "__main__":
    main()
