"""tau's kernels called in turn, as a network's ops follow one another, on a fake clock."""

from __future__ import annotations

import pytest

from archcount.roofline import calibrate as cal


def test_tau_kernels_are_called_in_turn_and_timed_per_call(monkeypatch):
    clock, order = [0.0], []

    def kernel(name, cost):
        def fn():
            order.append(name)
            clock[0] += cost  # the call takes `cost` s on the fake clock

        return fn

    monkeypatch.setattr(cal.time, "perf_counter", lambda: clock[0])
    tiny = {"a": [kernel("a1", 1e-6), kernel("a2", 3e-6)], "b": [kernel("b", 5e-6)]}
    taus = cal.interleaved(tiny, 0.0, "cpu")
    # a warm-up call each, then (budget 0) three rounds: never the same call twice in a row
    assert order == ["a1", "a2", "b"] * 4
    # per class the median kernel: a's two kernels (1 and 3 µs) give 2 µs, b 5 µs
    assert taus == pytest.approx({"a": 2e-6, "b": 5e-6})


def test_the_profiled_taus_see_one_call_per_range():
    # a real profiler session on real tiny kernels: every class gets a positive tau per call
    taus = cal.profiled_taus(cal.layers("cpu"), 0.2, "cpu")
    assert set(taus) == {"gemm", "conv", "attention", "elementwise", "view"}
    assert all(0 < t < 1e-4 for t in taus.values())  # one call: µs, not a batch of calls
