"""What a machine does per second: pi per op class and dtype, beta, tau per op class; presets,
the cache.

A Hardware is plain data, read and written as strict JSON (never a pickle) and validated on
load. Presets are the vendors' spec sheets (dense tensor-core peaks, HBM bandwidth); their tau
is not on any sheet and says so. A calibration is cached per device in the user's cache folder
(XDG_CACHE_HOME, else ~/.cache) under archcount/.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from archcount.errors import InputError
from archcount.files import write_atomic

VIEW = "view"  # calibrate's key for the view ops' tau (Hardware.tau_view)
FORMAT = 1  # the cache file's version: a file of another version is refused, not misread


class OpClass(str, Enum):
    """Which peak an op's multiply-adds run at."""

    GEMM = "gemm"  # mm, addmm, bmm, baddbmm
    CONV = "conv"  # convolution and its backward
    ATTENTION = "attention"  # scaled_dot_product_attention, fused or not
    ELEMENTWISE = "elementwise"  # everything else: one operation per element


@dataclass(frozen=True)
class Hardware:
    """Peaks of one machine: pi[class][dtype] MACs/s, beta bytes/s (beta_cache for an op whose
    bytes fit in cache_bytes), tau[class] s per op."""

    name: str
    device: str  # cpu or cuda: what the peaks were measured (or specified) on
    pi: dict[str, dict[str, float]]  # OpClass value -> dtype name ('float32') -> MACs/s
    beta: float
    tau: dict[str, float]  # OpClass value -> seconds an op of that class costs beyond its work
    source: str  # 'calibrated on …' or the spec sheet it comes from
    beta_cache: float = 0.0  # bytes/s of a working set within cache_bytes (0: no cache tier)
    cache_bytes: int = 0  # the per-core cache (L2) the op's bytes must fit in
    # OpClass value -> MACs at which the class runs at half its peak (absent: at peak always)
    half_work: dict[str, float] = field(default_factory=dict)
    # OpClass value -> tau as torch.profiler charges it (its events' self time; absent: none)
    tau_profiled: dict[str, float] = field(default_factory=dict)
    # OpClass value -> the smallest dimension at which the class runs at half its pi
    narrow_half: dict[str, float] = field(default_factory=dict)
    # seconds a view op costs, and as the profiler charges it (0: the element-wise class's)
    tau_view: float = 0.0
    tau_view_profiled: float = 0.0
    # element-wise aten ops measured on their own: 'aten.relu' -> [operations/s, half_work]
    op_rates: dict[str, list[float]] = field(default_factory=dict)
    # a depthwise 3x3 convolution's [MACs/s, half_work] (fp32), for convolutions with groups > 1
    # (empty: they run as a narrow convolution)
    grouped: list[float] = field(default_factory=list)

    def bandwidth(self, nbytes: int) -> float:
        """Bytes/s of an op moving `nbytes`: the cache's when they fit in it, else beta."""
        return self.beta_cache if 0 < nbytes <= self.cache_bytes and self.beta_cache else self.beta

    def rate(self, op_class: OpClass, dtype: str) -> float:
        """MACs/s of `op_class` in `dtype`; float32's when that dtype was not measured."""
        rates = self.pi[op_class.value]
        return rates.get(dtype) or rates["float32"]

    def compute_s(
        self,
        op_class: OpClass,
        dtype: str,
        macs: int,
        op: str = "",
        narrow: int = 0,
        grouped: bool = False,
    ) -> float:
        """Seconds of `macs`: (macs + half_work) / pi, pi scaled by narrow / (narrow +
        narrow_half) for a problem whose smallest dimension is `narrow`; an element-wise op at
        its own rate when measured, a grouped convolution at the depthwise one's."""
        if not macs:
            return 0.0
        if op_class is OpClass.ELEMENTWISE and op in self.op_rates:
            rate, half = self.op_rates[op]
            return (macs + half) / rate
        if op_class is OpClass.CONV and grouped and self.grouped:
            rate, half = self.grouped
            return (macs + half) / rate
        half = self.half_work.get(op_class.value, 0.0)
        d_half = self.narrow_half.get(op_class.value, 0.0)
        scale = narrow / (narrow + d_half) if narrow and d_half else 1.0
        return (macs + half) / (self.rate(op_class, dtype) * scale)

    def profiled(self) -> Hardware:
        """The same peaks with tau as the profiler charges it (itself when not measured)."""
        if not self.tau_profiled:
            return self
        return replace(self, tau=self.tau_profiled, tau_view=self.tau_view_profiled)

    def overhead(self, op_class: OpClass, view: bool = False) -> float:
        """Seconds one op of `op_class` costs beyond its work (dispatch, set-up, launch)."""
        return self.tau_view if view and self.tau_view else self.tau[op_class.value]

    def to_dict(self) -> dict[str, Any]:
        """The cache file's JSON object."""
        return {
            "format": FORMAT,
            "name": self.name,
            "device": self.device,
            "pi": self.pi,
            "beta": self.beta,
            "tau": self.tau,
            "source": self.source,
            "beta_cache": self.beta_cache,
            "cache_bytes": self.cache_bytes,
            "half_work": self.half_work,
            "tau_profiled": self.tau_profiled,
            "narrow_half": self.narrow_half,
            "tau_view": self.tau_view,
            "tau_view_profiled": self.tau_view_profiled,
            "op_rates": self.op_rates,
            "grouped": self.grouped,
        }


def from_dict(data: Any, where: str) -> Hardware:
    """A Hardware from its JSON object; InputError naming `where` when anything is off."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{where}: not an archcount calibration (format {FORMAT})")
    pi = data.get("pi")
    ok = isinstance(pi, dict) and {c.value for c in OpClass} <= set(pi)
    ok = ok and all(
        isinstance(r, dict) and "float32" in r and all(map(_positive, r.values()))
        for r in pi.values()
    )
    texts = (data.get("name"), data.get("device"), data.get("source"))
    if not ok or not all(isinstance(t, str) for t in texts):
        raise InputError(f"{where}: a calibration needs pi per op class (float32 at least)")
    tau = data.get("tau")
    taus = isinstance(tau, dict) and all(_positive(tau.get(c.value)) for c in OpClass)
    if not _positive(data.get("beta")) or not taus:
        raise InputError(f"{where}: beta and tau (per op class) must be positive numbers")
    cache, size = data.get("beta_cache"), data.get("cache_bytes")
    if not _nonnegative(cache) or not _natural(size):
        raise InputError(f"{where}: beta_cache and cache_bytes must be numbers, 0 or more")
    extra = {k: data.get(k, {}) for k in ("half_work", "tau_profiled", "narrow_half")}
    if not all(_per_class(v, k == "tau_profiled") for k, v in extra.items()):
        raise InputError(f"{where}: half_work, tau_profiled, narrow_half map op classes to numbers")
    rates = data.get("op_rates", {})
    pairs = isinstance(rates, dict) and all(map(_rate_pair, rates.values()))
    if not pairs:
        raise InputError(f"{where}: op_rates maps aten ops to [rate > 0, half_work >= 0]")
    grouped = data.get("grouped", [])
    if grouped != [] and not _rate_pair(grouped):
        raise InputError(f"{where}: grouped is [rate > 0, half_work >= 0] or empty")
    views = {k: data.get(k, 0.0) for k in ("tau_view", "tau_view_profiled")}
    if not all(map(_nonnegative, views.values())):
        raise InputError(f"{where}: tau_view and tau_view_profiled must be numbers, 0 or more")
    return Hardware(
        data["name"], data["device"], pi, data["beta"], tau, data["source"], cache, size,
        **extra, **views, op_rates=rates, grouped=grouped,
    )  # fmt: skip


def _rate_pair(v: Any) -> bool:
    """[rate > 0, half_work >= 0]."""
    return isinstance(v, list) and len(v) == 2 and _positive(v[0]) and _nonnegative(v[1])


def _per_class(x: Any, positive: bool) -> bool:
    """An {op class: number} map (positive, else 0 or more), empty allowed."""
    ok = isinstance(x, dict) and set(x) <= {c.value for c in OpClass}
    check = _positive if positive else _nonnegative
    return ok and all(map(check, x.values()))


def _nonnegative(x: Any) -> bool:
    """A number, 0 (int or float: a preset's 0.0 round-trips) or more."""
    return _positive(x) or (isinstance(x, (int, float)) and not isinstance(x, bool) and x == 0)


def _positive(x: Any) -> bool:
    ok = isinstance(x, (int, float)) and not isinstance(x, bool)
    return ok and math.isfinite(x) and x > 0


def _natural(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def cache_file(device: str) -> Path:
    """Where the calibration of `device` is kept: $XDG_CACHE_HOME/archcount/calibration-cpu.json."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archcount" / f"calibration-{device}.json"


def save(hardware: Hardware) -> Path:
    """Write `hardware` to its device's cache file, atomically; the path."""
    path = cache_file(hardware.device)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(hardware.to_dict(), indent=2) + "\n", "calibration")


def load(device: str) -> Hardware | None:
    """The cached calibration of `device`, or None when there is none (a bad file refused)."""
    path = cache_file(device)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"calibration {path}: unreadable ({type(exc).__name__})") from None
    return from_dict(data, f"calibration {path}")


def _sheet(name, sheet, fp32, tf32, half, elementwise, beta) -> Hardware:
    """A preset from spec-sheet TFLOPS (dense) and TB/s; MACs are half the FLOPs."""
    mac = {k: v * 1e12 / 2 for k, v in {"float32": fp32, "half": half, "tf32": tf32}.items()}
    tensor = {"float32": mac["float32"], "bfloat16": mac["half"], "float16": mac["half"]}
    # PyTorch runs fp32 convolutions in TF32 on tensor cores by default (cudnn.allow_tf32),
    # fp32 matmuls not (matmul.allow_tf32 is False): the two classes differ in fp32
    conv = dict(tensor, float32=mac["tf32"])
    ew = {d: elementwise * 1e12 for d in ("float32", "bfloat16", "float16")}
    pi = {"gemm": tensor, "conv": conv, "attention": dict(tensor), "elementwise": ew}
    source = (
        f"spec sheet: {sheet}; tau 5 µs assumed (no sheet gives a per-op overhead), no cache "
        "tier (nor a cache bandwidth)"
    )
    return Hardware(name, "cuda", pi, beta * 1e12, dict.fromkeys(pi, 5e-6), source)


# (name, sheet, fp32 TFLOPS, TF32 dense, BF16/FP16 dense, element ops/s 1e12, TB/s): the SXM
# parts' sheets; an element-wise op is taken as one fp32 FMA-pipe operation per element
PRESETS: dict[str, Hardware] = {
    h.name: h
    for h in (
        _sheet("h100-sxm", "NVIDIA H100 SXM5 80GB datasheet", 67, 494.7, 989.4, 33.5, 3.35),
        _sheet("h200-sxm", "NVIDIA H200 SXM 141GB datasheet", 67, 494.7, 989.4, 33.5, 4.8),
        _sheet("a100-sxm-80gb", "NVIDIA A100 80GB SXM datasheet", 19.5, 156, 312, 9.75, 2.039),
    )
}


def hardware_named(name: str) -> Hardware | None:
    """A preset by name, or the cached calibration of 'cpu'/'cuda' (None when not calibrated)."""
    if name in PRESETS:
        return PRESETS[name]
    if name in ("cpu", "cuda"):
        return load(name)
    choices = ", ".join(("cpu", "cuda", *PRESETS))
    raise InputError(f"--hardware {name[:40]!r}: use one of {choices}")
