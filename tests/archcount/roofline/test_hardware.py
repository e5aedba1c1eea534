"""Calibrations: cached as plain JSON in the user's cache folder, validated on load; presets."""

from __future__ import annotations

import json
import pickle

import pytest

from archcount.errors import InputError
from archcount.roofline import hardware as hw
from archcount.roofline.calibrate import calibrate
from archcount.roofline.hardware import PRESETS, OpClass, cache_file, hardware_named, load, save


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_calibrate_measures_every_class_and_round_trips(cache):
    lines = []
    h = calibrate("cpu", 2.0, lines.append)
    assert set(h.pi) == {c.value for c in OpClass} and h.beta > 0
    assert set(h.tau) == set(h.pi) and all(t > 0 for t in h.tau.values())
    assert len(lines) == 3 * 2 + 1 + 2 + 4  # a line per measurement: progress
    path = save(h)
    assert path == cache / "archcount" / "calibration-cpu.json" == cache_file("cpu")
    assert json.loads(path.read_text())["format"] == hw.FORMAT
    assert load("cpu") == h == hardware_named("cpu")


def test_no_calibration_is_none(cache):
    assert load("cpu") is None and hardware_named("cuda") is None


BAD = [
    b"\x80\x04K\x01.",  # a pickle: never unpickled, unreadable as JSON
    b"[1, 2]",
    b'{"format": 1}',
    b'{"format": 2, "name": "x"}',
]


@pytest.mark.parametrize("content", BAD)
def test_a_bad_cache_file_is_refused_in_one_line(cache, content):
    (cache / "archcount").mkdir()
    cache_file("cpu").write_bytes(content)
    with pytest.raises(InputError, match="calibration"):
        load("cpu")


@pytest.mark.parametrize(("key", "value"), [("beta", -1), ("tau", float("nan")),
                                            ("tau", {"gemm": 1e-6}), ("beta", "1e9"),
                                            ("cache_bytes", -1), ("beta_cache", True)])  # fmt: skip
def test_non_positive_or_odd_numbers_refused(cache, key, value):
    data = PRESETS["h100-sxm"].to_dict() | {key: value}
    (cache / "archcount").mkdir()
    cache_file("cuda").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"calibration .*(positive|0 or more)"):
        load("cuda")


def test_presets_are_the_spec_sheets_numbers():
    h100, a100 = PRESETS["h100-sxm"], PRESETS["a100-sxm-80gb"]
    assert h100.rate(OpClass.GEMM, "bfloat16") == 989.4e12 / 2  # dense BF16 TFLOPS, MACs
    assert h100.rate(OpClass.GEMM, "float32") == 67e12 / 2
    assert h100.rate(OpClass.CONV, "float32") == 494.7e12 / 2  # cuDNN runs fp32 in TF32
    assert PRESETS["h200-sxm"].beta == 4.8e12 and a100.beta == pytest.approx(2.039e12)
    assert a100.rate(OpClass.ATTENTION, "float16") == 312e12 / 2
    assert "spec sheet" in h100.source and "assumed" in h100.source
    assert h100.overhead(OpClass.CONV) == 5e-6


def test_unknown_hardware_named():
    with pytest.raises(InputError, match="h100-sxm"):
        hardware_named("tpu-v9")


def test_never_unpickled(cache, monkeypatch):
    (cache / "archcount").mkdir()
    cache_file("cpu").write_bytes(pickle.dumps({"format": 1}))
    monkeypatch.setattr(pickle, "loads", lambda *a: pytest.fail("unpickled"))
    with pytest.raises(InputError):
        load("cpu")


def test_an_op_within_the_cache_moves_at_the_cache_bandwidth():
    h = PRESETS["h100-sxm"]
    assert h.bandwidth(1) == h.bandwidth(10**12) == h.beta  # no cache tier on a sheet
    cpu = hw.Hardware("c", "cpu", h.pi, 5e9, h.tau, "hand", beta_cache=50e9, cache_bytes=2**21)
    assert cpu.bandwidth(2**21) == 50e9 and cpu.bandwidth(2**21 + 1) == 5e9


def test_half_work_from_two_points_by_hand():
    from archcount.roofline.elementwise import half_work

    # t = 1 µs + (MACs + 1e6) / 1e9: 1e6 MACs take 2.001 ms, 1e8 MACs take 101.001 ms; the
    # rate is the large call's, 1e8 / 0.101 s, and half_work the small call's rest at it
    pi, half = half_work((10**6, 2.001e-3), (10**8, 101.001e-3), 1e-6)
    assert pi == pytest.approx(1e8 / 0.101) and half == pytest.approx(pi * 2e-3 - 1e6)
    assert half == pytest.approx(0.98e6, rel=1e-3)  # the true 1e6 within 2 %
    # the small kernel as fast per MAC as the large one: no half work
    assert half_work((10**6, 1e-3 + 1e-6), (10**8, 0.1 + 1e-6), 1e-6) == (pytest.approx(1e9), 0)
    # noise: a call no slower than tau counts whole (at most twice its plain rate)
    assert half_work((10**6, 1e-3), (10**8, 1e-6), 1e-5)[0] == pytest.approx(2e14)


def test_calibrate_fits_half_work_and_profiled_tau(cache):
    h = calibrate("cpu", 2.0, lambda line: None)
    assert set(h.half_work) == {"gemm", "conv", "attention"}
    assert all(v >= 0 for v in h.half_work.values())
    assert set(h.tau_profiled) == set(h.tau) and all(t > 0 for t in h.tau_profiled.values())
    assert h.profiled().tau == h.tau_profiled


ODD = [("half_work", {"gemm": -1.0}), ("tau_profiled", {"gemm": 0}),
       ("half_work", {"tpu": 1.0}), ("tau_profiled", [1])]  # fmt: skip


@pytest.mark.parametrize(("key", "value"), ODD)
def test_half_work_and_profiled_tau_validated(cache, key, value):
    data = PRESETS["h100-sxm"].to_dict() | {key: value}
    (cache / "archcount").mkdir()
    cache_file("cuda").write_text(json.dumps(data))
    with pytest.raises(InputError, match="half_work, tau_profiled, narrow_half"):
        load("cuda")


def test_an_older_file_without_the_new_keys_loads():
    data = PRESETS["h100-sxm"].to_dict()
    del data["half_work"], data["tau_profiled"]
    assert hw.from_dict(data, "x") == PRESETS["h100-sxm"]


def test_every_preset_round_trips_through_its_file(cache):
    for preset in PRESETS.values():
        save(preset)
        assert load("cuda") == preset


def test_calibrate_times_element_wise_ops_on_their_own(cache):
    h = calibrate("cpu", 2.0, lambda line: None)
    assert {"aten.relu", "aten.native_layer_norm", "aten.max_pool2d_with_indices"} <= set(
        h.op_rates)  # fmt: skip
    assert load("cpu") is None and (save(h), load("cpu"))[1] == h


@pytest.mark.parametrize(
    "value", [{"aten.relu": [0, 1]}, {"aten.relu": ["1", 0]}, {"aten.relu": [1.0, -1]},
              {"aten.relu": 1.0}, [1.0]])  # fmt: skip
def test_op_rates_validated(cache, value):
    data = PRESETS["h100-sxm"].to_dict() | {"op_rates": value}
    (cache / "archcount").mkdir()
    cache_file("cuda").write_text(json.dumps(data))
    with pytest.raises(InputError, match="op_rates"):
        load("cuda")


def test_calibrate_fits_narrow_half(cache):
    h = calibrate("cpu", 2.0, lambda line: None)
    assert set(h.narrow_half) == {"gemm", "conv", "attention"}
    assert all(v >= 0 for v in h.narrow_half.values())


def test_calibrate_measures_a_views_tau(cache):
    h = calibrate("cpu", 2.0, lambda line: None)
    assert h.tau_view > 0 and h.tau_view_profiled > 0
    assert h.profiled().tau_view == h.tau_view_profiled


def test_a_negative_view_tau_is_refused(cache):
    data = PRESETS["h100-sxm"].to_dict() | {"tau_view": -1.0}
    with pytest.raises(InputError, match="tau_view"):
        hw.from_dict(data, "x")
