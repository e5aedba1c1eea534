"""--cross-check: archcount's totals beside torchinfo's, fvcore's and FlopCounterMode's, every
difference explained.

torchinfo and fvcore run on a real (CPU) copy of the model, FlopCounterMode on meta
(archcount.peers.flopcounter says why). A difference is explained when archcount's
per-layer numbers, recomputed under that peer's convention (archcount.peers.conventions), add up
to exactly the peer's total; each layer line also shows the peer's own per-layer number.
torchinfo and fvcore are imported only here, and only when asked for.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from archcount.engine.functional import FunctionalOps, functional_rows
from archcount.engine.rules import RULES
from archcount.engine.stack import mode, row_modules
from archcount.engine.walk import batch_of, prepare
from archcount.peers import conventions as pc
from archcount.peers.flopcounter import PEER as FLOP_COUNTER
from archcount.peers.flopcounter import flopcounter_macs, run_flop_counter
from archcount.recording import record
from archcount.records import LayerCount, Report


@dataclass(frozen=True)
class LayerDiff:
    """One module (or functional op) whose number differs under the peer's convention."""

    layer: str
    type: str
    ours: int
    expected: int  # ours recomputed under the peer's convention
    peer: int | None  # the peer's own number for this module, when it gives one
    why: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class PeerCheck:
    """One peer metric beside archcount's quantity, per example."""

    peer: str
    metric: str  # the peer's name: params, mult-adds, flops, activations
    quantity: str  # archcount's: weights, connections, outputs
    ours: int
    theirs: int
    expected: int  # sum of the per-layer recomputations
    diffs: tuple[LayerDiff, ...]

    @property
    def agree(self) -> bool:
        """archcount and the peer give the same total."""
        return self.ours == self.theirs

    @property
    def explained(self) -> bool:
        """The recomputation under the peer's convention gives exactly the peer's total."""
        return self.expected == self.theirs

    @property
    def verdict(self) -> str:
        """'agree' only when the totals are equal and the recomputation says so too."""
        if self.agree:
            return "agree" if self.explained else "same total, recomputation NOT explained"
        return "differ: " + ("explained" if self.explained else "NOT explained")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "peer": self.peer,
            "metric": self.metric,
            "quantity": self.quantity,
            "archcount": self.ours,
            "peer_value": self.theirs,
            "agree": self.agree,
            "recomputed_under_peer_convention": self.expected,
            "explained": self.explained,
            "layers": [d.to_dict() for d in self.diffs],
        }


@dataclass(frozen=True)
class CrossCheck:
    """Every peer check, and the peers that could not run (with why)."""

    checks: tuple[PeerCheck, ...]
    skipped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON `cross_check` object."""
        return {"checks": [c.to_dict() for c in self.checks], "skipped": list(self.skipped)}


@dataclass(frozen=True)
class _Group:
    """archcount's rows for one module (all its calls) or one functional op."""

    name: str
    type: str
    module: nn.Module | None
    rows: tuple[LayerCount, ...]
    in_report: bool = True  # False: functional ops archcount found but left out of the totals
    all_params: int = 0  # every parameter the module holds
    first_params: int = 0  # those not held by an earlier group (shared ones count once)
    container: bool = False  # holds modules with groups of their own (its peer sum has them)

    def ours(self, field: str) -> int:
        return sum(getattr(r, field) or 0 for r in self.rows) if self.in_report else 0


# A peer's run: its totals (per example) and its own number for one module, by metric.
PeerRun = tuple[dict[str, int], Callable[[str, nn.Module | None], int | None]]

_METRICS: dict[str, tuple[tuple[str, str, Callable], ...]] = {
    "torchinfo": (
        ("params", "weights", pc.torchinfo_params),
        ("mult-adds", "connections", pc.torchinfo_macs),
    ),
    "fvcore": (
        ("params", "weights", pc.fvcore_params),
        ("flops", "connections", pc.fvcore_flops),
        ("activations", "outputs", pc.fvcore_acts),
    ),
    FLOP_COUNTER: (("MACs", "connections", flopcounter_macs),),
}
PEERS = tuple(_METRICS)


def cross_check(
    report: Report,
    model: nn.Module,
    args: tuple,
    functional: FunctionalOps | None = None,
    *,
    kwargs: dict | None = None,
    meta: tuple[nn.Module, tuple, dict] | None = None,
    peers: tuple[str, ...] = PEERS,
) -> CrossCheck:
    """Run torchinfo and fvcore on `model` (real tensors) with `args` and `kwargs`, and
    FlopCounterMode on `meta` (model, args, kwargs on meta; default: a meta copy of `model`),
    the ones named in `peers`, and compare each with `report`."""
    kwargs = dict(kwargs or {})
    batch = batch_of(args, kwargs)
    if functional is None:
        prepared = prepare(model, example_input=args, example_kwargs=kwargs)
        functional = record(prepared).functional(report.convention)
    runners = {
        "torchinfo": lambda: _run_torchinfo(model, args, kwargs, batch),
        "fvcore": lambda: _run_fvcore(model, args, kwargs, batch),
        FLOP_COUNTER: lambda: run_flop_counter(
            *(meta or _on_meta(model, args, kwargs)), batch, named_like=model
        ),
    }
    groups = _groups(report, model, functional)
    unique = sum(p.numel() for p in model.parameters())
    rest = unique - sum(g.first_params for g in groups)  # held by no counted module
    checks: list[PeerCheck] = []
    skipped: list[str] = []
    for peer in peers:
        try:
            totals, own = runners[peer]()
        except ImportError as exc:
            skipped.append(f"{peer}: not installed ({exc})")
            continue
        except Exception as exc:
            skipped.append(f"{peer}: failed: {_first_line(exc)}")
            continue
        for metric, quantity, view in _METRICS[peer]:
            checks.append(
                _check(peer, metric, quantity, view, (totals[metric], own), groups, report, batch)
            )
    checks = [_with_rest(c, rest) if c.quantity == "weights" else c for c in checks]
    return CrossCheck(tuple(checks), tuple(skipped))


def _check(peer, metric, quantity, view, run, groups, report, batch) -> PeerCheck:
    """One metric: each group's recomputation, and the lines where anything differs."""
    (theirs, own), diffs, expected = run, [], 0
    for g in groups:
        if not g.rows:  # a module archcount left out: only the peer's own number can say
            v = pc.View(own(metric, g.module) or 0, "no row: left out (--ignore-norm) or idle")
        else:
            v = view(g, batch)
        why = v.why if g.in_report else "outside modules, not in archcount's totals (--functional)"
        expected += v.value
        # a container's own number at the peer sums its children's: not this row's
        peer_value = own(metric, g.module) if g.module is not None and not g.container else None
        if v.value != g.ours(quantity) or (peer_value is not None and peer_value != v.value):
            diffs.append(LayerDiff(g.name, g.type, g.ours(quantity), v.value, peer_value, why))
    ours = getattr(report.totals, quantity)
    return PeerCheck(peer, metric, quantity, ours, theirs, expected, tuple(diffs))


def _with_rest(check: PeerCheck, rest: int) -> PeerCheck:
    """Parameters no counted module holds (used only by the model's own code) still count."""
    if not rest:
        return check
    line = LayerDiff("(no module)", "", 0, rest, None, "parameters no counted module holds")
    return replace(check, expected=check.expected + rest, diffs=(*check.diffs, line))


def _groups(report: Report, model: nn.Module, functional: FunctionalOps) -> list[_Group]:
    """Rows grouped by module (all calls together), idle or left-out modules, functional ops."""
    op_rows = functional_rows(functional)
    op_names = {r.name for r in op_rows}  # a row of the report is an op row by name, not type
    by_name: dict[str, list[LayerCount]] = {}
    for row in report.layers:
        by_name.setdefault(row.name, []).append(row)
    found = []
    for name, rows in by_name.items():
        module = None if name in op_names else _module_of(model, name)
        found.append((name, rows[0].type, module, tuple(rows)))
    covered = {id(m) for *_, module, _ in found if module is not None for m in module.modules()}
    for name, module in row_modules(model, RULES, type(model).__name__):
        if id(module) not in covered:
            found.append((name, type(module).__name__, module, ()))
    seen: set[int] = set()
    grouped = {id(m) for *_, m, _ in found if m is not None}
    groups = [
        _Group(n, t, m, rows, True, *_param_counts(m, seen, grouped), _holds(m, grouped))
        for n, t, m, rows in found
    ]
    if not op_names & by_name.keys():  # the ops were not added to the report's totals
        groups += [_Group(r.name, r.type, None, (r,), False) for r in op_rows]
    return groups


def _holds(module: nn.Module | None, grouped: set[int]) -> bool:
    """True when a module below `module` has a group of its own."""
    return module is not None and any(id(m) in grouped for m in module.modules() if m is not module)


def _param_counts(module: nn.Module | None, seen: set[int], grouped: set[int]) -> tuple[int, int]:
    """(parameters of `module`, those not in `seen`); marks them seen. A container's row (one
    holding parameters itself, as ViT's embeddings its cls_token) has only those: the ones its
    descendants hold are their own groups' (counting them again double-counted them)."""
    if module is None:
        return 0, 0
    inner = {
        id(p)
        for m in module.modules()
        if m is not module and id(m) in grouped
        for p in m.parameters()
    }
    params = [p for p in module.parameters() if id(p) not in inner]
    first = sum(p.numel() for p in params if id(p) not in seen)
    seen.update(id(p) for p in params)
    return sum(p.numel() for p in params), first


def _module_of(model: nn.Module, name: str) -> nn.Module | None:
    try:
        return model.get_submodule(name)
    except AttributeError:
        return model if name == type(model).__name__ else None


def _on_meta(model: nn.Module, args: tuple, kwargs: dict) -> tuple[nn.Module, tuple, dict]:
    """A meta copy of the model and inputs (FlopCounterMode's device; ties kept by deepcopy)."""
    if all(t.device.type == "meta" for t in (*model.parameters(), *args, *kwargs.values())):
        return model, args, kwargs

    def meta(v):
        return torch.empty_like(v, device="meta") if isinstance(v, torch.Tensor) else v

    copied = copy.deepcopy(model).to("meta")
    return copied, tuple(meta(a) for a in args), {k: meta(v) for k, v in kwargs.items()}


def _run_torchinfo(model: nn.Module, args: tuple, kwargs: dict, batch: int) -> PeerRun:
    from torchinfo import summary

    data = list(args) if args else kwargs  # a dict is passed to forward as keywords
    more = kwargs if args else {}
    stats = summary(model, input_data=data, verbose=0, depth=1000, device="cpu", **more)
    macs: dict[int, int] = {}
    params: dict[int, int] = {}
    for info in stats.summary_list:
        if info.is_leaf_layer:
            macs[info.layer_id] = macs.get(info.layer_id, 0) + info.macs
        if not info.is_recursive:
            own = info.num_params if info.is_leaf_layer else info.leftover_params()
            params[info.layer_id] = params.get(info.layer_id, 0) + max(own, 0)

    def own(metric: str, module: nn.Module | None) -> int | None:
        table = params if metric == "params" else macs
        ids = [id(m) for m in module.modules()]
        value = sum(table.get(i, 0) for i in ids)
        return value if metric == "params" else value // batch

    totals = {"params": stats.total_params, "mult-adds": stats.total_mult_adds // batch}
    return totals, own


def _run_fvcore(model: nn.Module, args: tuple, kwargs: dict, batch: int) -> PeerRun:
    if kwargs:
        raise ValueError("it traces positional inputs only, not keyword inputs")
    with _quiet():  # importing fvcore warns that torch.jit.script is deprecated
        from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, parameter_count

    names = {id(m): n for n, m in model.named_modules()}
    with _quiet(), mode(model, False), torch.no_grad():
        flops = FlopCountAnalysis(model, args)
        acts = ActivationCountAnalysis(model, args)
        for a in (flops, acts):
            a.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            a.tracer_warnings("none")
        by = {"flops": flops.by_module(), "activations": acts.by_module()}
        count = parameter_count(model)

    def own(metric: str, module: nn.Module | None) -> int | None:
        name = names.get(id(module))
        if metric == "params":
            return count.get(name, 0)
        return int(by[metric].get(name, 0)) // batch

    totals = {
        "params": count[""],
        "flops": int(flops.total()) // batch,
        "activations": int(acts.total()) // batch,
    }
    return totals, own


@contextlib.contextmanager
def _quiet():
    """fvcore's JIT trace warns and logs on stderr: keep the report clean."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
