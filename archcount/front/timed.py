"""`count --time`: one spied forward (and backward) of the count's build, merged into JSON."""

from __future__ import annotations

from typing import Any

from archcount.engine.walk import Prepared
from archcount.front.request import CountRequest
from archcount.records import call_label
from archcount.roofline.hardware import hardware_named
from archcount.roofline.predict import Cost, TimeRow
from archcount.roofline.report import TimeReport, time_report


def time_of(request: CountRequest, prepared: Prepared, hardware: str, training: bool) -> TimeReport:
    """The TimeReport of the count's prepared run; `hardware` a preset, cpu, cuda or auto
    (the cached calibration of the device counted on: cuda for --device cuda, else cpu)."""
    asked = hardware if hardware != "auto" else ("cuda" if request.device == "cuda" else "cpu")
    return time_report(prepared, request.target, hardware_named(asked), asked, training)


def add_time(data: dict[str, Any], report: TimeReport, depth: int | None = None) -> None:
    """Each layer's bytes_read, bytes_written, intensity, bound, predicted_s (and `backward`
    under training); null for a module that never ran. Then the whole view as data["time"]."""
    rows = report.by_label()
    for layer in data["layers"]:
        row = rows.get(_label(layer))
        if row is None:  # ran no op (Dropout in eval), or never ran: nothing, or unknown
            cost = None if layer.get("source") == "not run" else _nothing(report)
            row = TimeRow(_label(layer), None, cost, cost if report.training else None)
        layer.update(_keys(row.forward))
        if report.training:
            layer["backward"] = _keys(row.backward)
    data["time"] = report.to_dict(depth)


def _nothing(report: TimeReport) -> Cost:
    return Cost() if report.hardware is not None else Cost(0, 0, 0, 0, None, None, None)


def _keys(cost: Cost | None) -> dict[str, Any]:
    """The five per-row keys (the count's own `ops` and `macs` are not overwritten)."""
    keys = ("bytes_read", "bytes_written", "intensity", "bound", "predicted_s")
    if cost is None:
        return dict.fromkeys(keys)
    data = cost.to_dict()
    return {k: data[k] for k in keys}


def _label(layer: dict[str, Any]) -> str:
    """The time row of a count row: its call's label, or 'owner (aten.op)' for own code."""
    owner, name = layer.get("owner"), layer["name"]
    if layer.get("source") == "functional" and owner and name.startswith(f"{owner} ("):
        return name.rsplit(" ×", 1)[0] + ")"
    return call_label(name, layer["call"])
