"""`archcount calibrate`: pi per op class and dtype, beta and tau, measured on this machine.

Each figure is the median time of one kernel run back to back for a fixed share of the time
budget (after one warm-up call): a GEMM, a 3×3 convolution, scaled_dot_product_attention, an
element-wise product on a cache-sized tensor (pi); a stream-like a + b on arrays far larger than
any cache (beta, three arrays' bytes per call) and on arrays within half a core's L2 (the cache's
beta, for ops whose bytes fit in that L2); a linear layer, a convolution with a bias, SDPA,
the element-wise building blocks (their median) and views on a handful of elements (tau per
class and tau_view: dispatch, set-up, launch; called in turn, as a network's ops follow one
another, never back to back), and again under torch.profiler (tau_profiled:
the aten self time it charges them, its own per-event cost included). The GEMM, convolution
and attention (fp32) also run with one dimension narrow (narrow_half) and on little work
(half_work): t = tau + (MACs + half_work) / (pi * d / (d + narrow_half)). A depthwise 3x3
convolution, small and large, gives grouped convolutions their own rate and half_work (a
different kernel: no channel sum to vectorise). On CUDA every call is timed between
synchronisations.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from archcount.errors import InputError
from archcount.roofline.elementwise import half_work, kernels, op_rates
from archcount.roofline.hardware import VIEW, Hardware, OpClass

# per device: GEMM n, conv (batch, channels, side), attention (B, H, L, E), product and stream sizes
SIZES = {
    "cpu": dict(gemm=512, conv=(8, 64, 32), attention=(4, 4, 256, 64), ew=2**15, stream=2**23),
    "cuda": dict(
        gemm=8192, conv=(64, 128, 56), attention=(8, 16, 2048, 64), ew=2**24, stream=2**28
    ),
}
# half_work: the same kernels on little work (fp32), set against the large ones
SMALL = {
    "cpu": dict(gemm=64, conv=(1, 16, 16), attention=(1, 2, 64, 32)),
    "cuda": dict(gemm=1024, conv=(8, 64, 28), attention=(1, 8, 512, 64)),
}
# narrow_half: about as much work with one narrow dimension (gemm K, conv channels, head width)
NARROW = {
    "cpu": dict(gemm=(512, 16), conv=(8, 4, 64), attention=(4, 4, 256, 16)),
    "cuda": dict(gemm=(8192, 64), conv=(64, 8, 112), attention=(8, 16, 2048, 16)),
}
# a depthwise 3x3 convolution (with its bias), small and large: (batch, channels, side)
DEPTHWISE = {
    "cpu": ((1, 16, 16), (8, 64, 32)),
    "cuda": ((1, 64, 28), (64, 256, 56)),
}
INSTANCES = 5
ROUNDS = 200  # tau under the profiler: at most that many rounds of every tiny kernel
DTYPES = {"cpu": ("float32", "bfloat16"), "cuda": ("float32", "bfloat16", "float16")}
Progress = Callable[[str], None]


def seconds_per_call(fn: Callable[[], object], budget: float, device: str) -> float:
    """The median seconds of one call of `fn`, run back to back for about `budget` s."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    fn()
    sync()
    times: list[float] = []
    end = time.perf_counter() + budget
    while time.perf_counter() < end or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _kernels(device: str, dtype: torch.dtype, s: dict) -> dict[OpClass, tuple[int, Callable]]:
    """(MACs, the call) per op class at sizes `s` (a GEMM n or (n, K)), on tensors made once."""

    def rand(*shape):
        return torch.randn(*shape, device=device, dtype=dtype)

    n, k_gemm = s["gemm"] if isinstance(s["gemm"], tuple) else (s["gemm"], s["gemm"])
    a, b = rand(n, k_gemm), rand(k_gemm, n)
    nb, c, side = s["conv"]
    x, w = rand(nb, c, side, side), rand(c, c, 3, 3)
    q = k = v = rand(*s["attention"])
    B, H, L, E = s["attention"]
    kernels = {
        OpClass.GEMM: (n * k_gemm * n, lambda: a @ b),
        OpClass.CONV: (nb * c * side * side * c * 9, lambda: F.conv2d(x, w, padding=1)),
        OpClass.ATTENTION: (B * H * L * L * 2 * E, lambda: F.scaled_dot_product_attention(q, k, v)),
    }
    if "ew" in s:
        y = rand(s["ew"])
        kernels[OpClass.ELEMENTWISE] = (y.numel(), lambda: torch.mul(y, y))
    return kernels


def layers(device: str) -> dict[str, list[Callable[[], object]]]:
    """tau's kernels per class, on next to no work, as networks call them: a linear and a
    convolution with a bias (their transposes, broadcasts and checks included), SDPA, the
    element-wise building blocks; and views (VIEW: they move nothing, and cost less)."""
    x, w, b = (torch.randn(*s, device=device) for s in ((8, 8), (8, 8), (8,)))
    image, kernel, bias = (
        torch.randn(*s, device=device) for s in ((1, 4, 8, 8), (4, 4, 3, 3), (4,))
    )
    q = torch.randn(1, 1, 8, 8, device=device)
    return {
        OpClass.GEMM.value: [lambda: F.linear(x, w, b)],
        OpClass.CONV.value: [lambda: F.conv2d(image, kernel, bias, padding=1)],
        OpClass.ATTENTION.value: [lambda: F.scaled_dot_product_attention(q, q, q)],
        OpClass.ELEMENTWISE.value: kernels(device, 1, 2),
        VIEW: [lambda: x.view(-1), lambda: x.transpose(0, 1), lambda: x.t(),
               lambda: b.expand(8, 8), lambda: x.permute(1, 0), lambda: x[1:],
               lambda: x.unsqueeze(0)],
    }  # fmt: skip


def narrow_of(op_class: OpClass, s: dict) -> int:
    """The smallest dimension of the class's kernel at sizes `s` (as ops.narrowest)."""
    if op_class is OpClass.GEMM:
        return min(s["gemm"]) if isinstance(s["gemm"], tuple) else s["gemm"]
    if op_class is OpClass.CONV:
        return min(s["conv"][1], s["conv"][1] * 9)
    _, _, length, width = s["attention"]
    return min(length, width)


def calibrate(device: str = "cpu", seconds: float = 20.0, progress: Progress = print) -> Hardware:
    """Measure this machine's pi, beta and tau on `device` within about `seconds`."""
    if device not in SIZES:
        raise InputError(f"--device {device[:20]!r}: use cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: PyTorch sees no CUDA device here")
    dtypes = DTYPES[device]
    # kernels per dtype, the product, betas, taus (plain and profiled), small kernels, the
    # element-wise ops on their own (three shares in all), narrow kernels, depthwise ones
    share = seconds / (3 * len(dtypes) + 1 + 2 + 2 + 3 + 3 + 3 + 3 + 2)
    tiny = layers(device)
    tau = interleaved(tiny, 2 * share, device)
    profiled = profiled_taus(tiny, 3 * share, device)
    rates = op_rates(device, 3 * share, tau[OpClass.ELEMENTWISE.value], seconds_per_call)
    grouped = depthwise(device, share, tau[OpClass.CONV.value])
    pi, half, narrow = _peaks(device, dtypes, share, tau, progress, rates, grouped)
    beta = stream(device, share, SIZES[device]["stream"])
    progress(f"{'beta':<20}  {beta / 1e9:12,.1f} GB/s (a + b, three arrays)")
    size = cache_size(device)
    cached = stream(device, share, size // 2 // 3 // 4) if size else 0.0  # half of it, fp32
    progress(f"{'beta in cache':<20}  {cached / 1e9:12,.1f} GB/s (within {size:,} bytes)")
    for c in (c.value for c in OpClass):
        shown = f"{profiled[c] * 1e6:,.2f} profiled"
        if c == OpClass.ELEMENTWISE.value:  # a view's on the same line: one line per class
            shown += f"; a view {tau[VIEW] * 1e6:,.2f}, {profiled[VIEW] * 1e6:,.2f} profiled"
        progress(f"{'tau ' + c:<20}  {tau[c] * 1e6:12,.2f} µs per op ({shown})")
    source = f"calibrated on {_machine(device)}"
    views = (tau.pop(VIEW), profiled.pop(VIEW))
    return Hardware(
        device, device, pi, beta, tau, source, cached, size, half, profiled, narrow, *views,
        rates, grouped,
    )  # fmt: skip


def depthwise(device: str, budget: float, tau: float) -> list[float]:
    """[MACs/s, half_work] of a depthwise 3x3 convolution (fp32), from a small and a large call,
    each the median over INSTANCES sets of fresh tensors (one set can run 4x faster than the
    next: where they land in memory)."""
    points = []
    for nb, c, side in DEPTHWISE[device]:
        times = []
        for _ in range(INSTANCES):
            x = torch.randn(nb, c, side, side, device=device)
            w, b = torch.randn(c, 1, 3, 3, device=device), torch.randn(c, device=device)
            call = lambda x=x, w=w, b=b, c=c: F.conv2d(x, w, b, padding=1, groups=c)  # noqa: E731
            times.append(seconds_per_call(call, budget / 2 / INSTANCES, device))
        points.append((nb * c * side * side * 9, statistics.median(times)))
    return list(half_work(points[0], points[1], tau))


def _peaks(device: str, dtypes, share: float, tau: dict[str, float], progress: Progress, rates,
           grouped: list[float]):  # fmt: skip
    """pi per class and dtype; narrow_half and half_work per class (fp32); the conv line shows
    the depthwise rate `grouped` too."""
    pi: dict[str, dict[str, float]] = {c.value: {} for c in OpClass}
    fits: dict[str, tuple[float, float]] = {}
    for name in dtypes:
        for op_class, (macs, fn) in _kernels(device, getattr(torch, name), SIZES[device]).items():
            if op_class is OpClass.ELEMENTWISE and name != "float32":
                continue
            t, c = seconds_per_call(fn, share, device), op_class.value
            pi[c][name], shown = macs / t, ""
            if name == "float32" and op_class is not OpClass.ELEMENTWISE:
                pi[c][name] = macs / max(t - tau[c], t / 2)
                fits[c] = _shape_fit(device, op_class, share, tau[c], pi[c][name])
                shown = f" (half of it on {fits[c][0]:,.1f} wide, at {fits[c][1]:,.0f} MACs)"
                if op_class is OpClass.CONV:
                    shown += f"; depthwise {grouped[0] / 1e9:,.2f}, half at {grouped[1]:,.0f}"
            if op_class is OpClass.ELEMENTWISE:
                low, high = (f([r for r, _ in rates.values()]) / 1e9 for f in (min, max))
                shown = f" ({len(rates)} ops on their own: {low:,.2f} to {high:,.1f})"
            progress(f"{c:<11} {name:<8}  {pi[c][name] / 1e9:12,.1f} GMAC/s{shown}")
    return pi, {c: f[1] for c, f in fits.items()}, {c: f[0] for c, f in fits.items()}


def _shape_fit(device: str, op_class: OpClass, share: float, tau: float, pi: float):
    """(narrow_half, half_work) of a class whose large kernel runs at `pi`: its narrow kernel
    (as much work, one dimension small) sets the first, its small kernel the second."""
    work, fn = _kernels(device, torch.float32, NARROW[device])[op_class]
    d_narrow = narrow_of(op_class, NARROW[device])
    d_half = narrow_half(d_narrow, work / _beyond(fn, share, device, tau), pi)
    few, fn = _kernels(device, torch.float32, SMALL[device])[op_class]
    d_small = narrow_of(op_class, SMALL[device])
    t = seconds_per_call(fn, share, device)
    return d_half, max(0.0, pi * d_small / (d_small + d_half) * (t - tau) - few)


def _beyond(fn: Callable[[], object], budget: float, device: str, tau: float) -> float:
    """Seconds of one call beyond tau (at least half of it: noise)."""
    t = seconds_per_call(fn, budget, device)
    return max(t - tau, t / 2)


def narrow_half(d: int, rate: float, pi: float) -> float:
    """The dimension d_half at which rate = pi * d / (d + d_half) gives `rate` at `d` (0 when
    the narrow kernel is no slower)."""
    return max(0.0, d * (pi / rate - 1))


def profiled_taus(layers: dict[str, list[Callable]], budget: float, device: str):
    """Per class, the aten self time torch.profiler charges one call of its tiny kernels: the
    kernels called in turn (as in `interleaved`), each call's events (nested ones too), the
    median call per kernel, the median kernel; in one profiler session of about `budget` s."""
    from torch.profiler import ProfilerActivity, profile, record_function

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    calls = [(c, j, fn) for c, fns in layers.items() for j, fn in enumerate(fns)]
    with profile(activities=activities) as prof:
        for _, _, fn in calls:
            fn()
        end, i = time.perf_counter() + budget, 0
        while (time.perf_counter() < end and i < ROUNDS) or i < 3:
            for c, j, fn in calls:
                with record_function(f"ac-tau|{c}|{j}|{i}"):
                    fn()
                    sync()
            i += 1
    batches: dict[tuple[str, ...], float] = defaultdict(float)
    for e in prof.events():
        p = e.cpu_parent
        while p is not None and not p.name.startswith("ac-tau|"):
            p = p.cpu_parent
        if p is not None and e.name.startswith("aten::"):
            us = e.self_device_time_total if device == "cuda" else e.self_cpu_time_total
            batches[tuple(p.name.split("|")[1:])] += us * 1e-6
    return {c: _median_of_medians(batches, c, len(fns)) for c, fns in layers.items()}


def _median_of_medians(batches: dict[tuple[str, ...], float], c: str, count: int) -> float:
    """The median over a class's kernels of each one's median batch (1 ns when none seen)."""
    per = [[t for (k, j, _), t in batches.items() if k == c and j == str(n)] for n in range(count)]
    return statistics.median(statistics.median(ts) for ts in per if ts) if any(per) else 1e-9


def stream(device: str, budget: float, n: int) -> float:
    """Bytes per second of c = a + b on arrays of n floats (reads 2, writes 1)."""
    a, b = torch.ones(n, device=device), torch.ones(n, device=device)
    c = torch.empty_like(a)
    bytes_ = 3 * n * a.element_size()
    return bytes_ / seconds_per_call(lambda: torch.add(a, b, out=c), budget, device)


def interleaved(layers: dict[str, list[Callable]], budget: float, device: str) -> dict[str, float]:
    """Per class, the median over its tiny kernels of one call's median seconds, the kernels
    called in turn (as a network's ops follow one another: the same call back to back runs
    with hot caches and branch predictors, 1.4-1.6x faster on a CPU) for about `budget` s."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    calls = [(c, j, fn) for c, fns in layers.items() for j, fn in enumerate(fns)]
    times: dict[tuple[str, int], list[float]] = defaultdict(list)
    for _, _, fn in calls:
        fn()
    end, rounds = time.perf_counter() + budget, 0
    while time.perf_counter() < end or rounds < 3:
        for c, j, fn in calls:
            t0 = time.perf_counter()
            fn()
            sync()
            times[c, j].append(time.perf_counter() - t0)
        rounds += 1
    return {
        c: statistics.median(statistics.median(times[c, j]) for j in range(len(fns)))
        for c, fns in layers.items()
    }


def cache_size(device: str) -> int:
    """Bytes of one core's L2 (Linux sysfs), or the GPU's L2; 0 when unknown."""
    if device == "cuda":
        return int(getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0))
    folder = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(folder.glob("index*")):
        try:
            if (index / "level").read_text().strip() != "2":
                continue
            text = (index / "size").read_text().strip().upper()  # '2048K'
        except OSError:
            return 0
        scale = {"K": 2**10, "M": 2**20}.get(text[-1:], 1)
        return int(text.rstrip("KM")) * scale if text.rstrip("KM").isdigit() else 0
    return 0


def _machine(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    threads = torch.get_num_threads()
    return f"{platform.processor() or platform.machine()} CPU, {threads} threads"
