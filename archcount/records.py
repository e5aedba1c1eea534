"""Frozen records of a count: one LayerCount per module call, Totals, and the Report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# print() and rich.print() of a result draw its table, but records sit below archcount.render
# in the layers and may not import it; the top package (above every layer) installs the one
# function that does: result -> rich renderable, importing render on the first print only.
_draw: Callable[[Any], Any] | None = None


def install_drawing(draw: Callable[[Any], Any]) -> None:
    """Make `draw(result) -> rich renderable` what print() and rich.print() of a result show."""
    global _draw
    _draw = draw


class Drawn:
    """print(x) and rich.print(x) show x's table (like torchinfo's summary); repr(x) one line."""

    def __rich__(self) -> Any:
        assert _draw is not None, "archcount/__init__.py installs the drawing"
        return _draw(self)

    def __str__(self) -> str:
        """The table as plain text (no colour codes) at the terminal's width, else 120."""
        import io
        import shutil

        from rich.console import Console  # rich only when printed

        width = shutil.get_terminal_size((120, 24)).columns
        # no markup or emoji: a model's or layer's name is shown as written ('hf:llama')
        console = Console(file=io.StringIO(), width=width, color_system=None, no_color=True,
                          force_terminal=False, force_jupyter=False, markup=False, emoji=False,
                          highlight=False)  # fmt: skip
        console.print(self)
        return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


class Convention(str, Enum):
    """What is a unit: `units` (weighted sums, textbook) or `modules` (every leaf output)."""

    UNITS = "units"
    MODULES = "modules"


class Kind(str, Enum):
    """How a module's outputs are treated under the two conventions."""

    LAYER = "layer"  # weighted sums, pools, resampling: always units
    NORM = "norm"  # normalisation: a layer, unless the user leaves norms out
    ELEMENTWISE = "elementwise"  # activations, dropout: units only under `modules`
    VIEW = "view"  # reshapes and padding: never units
    UNSUPPORTED = "unsupported"  # no rule: outputs counted, connections unknown
    CACHE = "cache"  # copies into a kept state (a KV cache): shown, totalled apart

    def silent_under(self, convention: Convention) -> bool:
        """True when this kind adds no outputs or connections under `convention`."""
        return self is Kind.VIEW or (self is Kind.ELEMENTWISE and convention is Convention.UNITS)


class Source(str, Enum):
    """Where a row's counts come from."""

    RULE = "rule"  # the module type's rule (hooks)
    OPS = "ops"  # a module without a rule, counted from the aten ops run inside it
    FUNCTIONAL = "functional"  # ops run by a container's own forward code, outside its children
    NOT_RUN = "not run"  # a module that never ran (an unrouted expert): its weights only


@dataclass(frozen=True)
class LayerCount:
    """Counts of one call of one module (or one op of a module's own code), per example."""

    name: str
    type: str
    kind: Kind
    call: int
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    trainable_weights: int
    frozen_weights: int
    outputs: int
    connections: int | None
    connections_exact: int | None
    source: Source = Source.RULE
    owner: str | None = None  # FUNCTIONAL rows: the module whose own code ran the op
    ops: tuple[tuple[str, int, int | None], ...] = ()  # (op, calls, connections) it counts
    cache_copies: int = 0  # CACHE rows: elements copied into a kept state (a KV cache)

    @property
    def label(self) -> str:
        """'layer1.0', or 'layer1.0 (call 2)' for a module's second call."""
        return call_label(self.name, self.call)

    @property
    def weights(self) -> int:
        """Trainable plus frozen parameter elements first counted at this call."""
        return self.trainable_weights + self.frozen_weights

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; unknown connections are None (null)."""
        return {
            "name": self.name,
            "type": self.type,
            "kind": self.kind.value,
            "call": self.call,
            "input_shape": _listed(self.input_shape),
            "output_shape": _listed(self.output_shape),
            "weights": self.weights,
            "trainable_weights": self.trainable_weights,
            "frozen_weights": self.frozen_weights,
            "outputs": self.outputs,
            "connections": self.connections,
            "connections_exact": self.connections_exact,
            "source": self.source.value,
            "owner": self.owner,
            "ops": [{"op": o, "calls": c, "connections": n} for o, c, n in self.ops],
            "cache_copies": self.cache_copies,
        }


@dataclass(frozen=True)
class Totals:
    """Sums over the layers; connections sum the known rows, `unknown` names the others."""

    weights: int
    trainable_weights: int
    frozen_weights: int
    outputs: int
    connections: int
    connections_exact: int
    unknown: tuple[str, ...]
    cache_copies: int = 0  # elements copied into kept state (KV caches), not in connections
    not_run_weights: int = 0  # of `weights`: held by modules that never ran (routing-free)

    @classmethod
    def of(cls, layers: tuple[LayerCount, ...]) -> Totals:
        """Totals of `layers` (weights are already de-duplicated per row); cache rows apart."""
        cache = [x for x in layers if x.kind is Kind.CACHE]
        rest = [x for x in layers if x.kind is not Kind.CACHE]
        known = [x for x in rest if x.connections is not None]
        return cls(
            weights=sum(x.weights for x in layers),
            trainable_weights=sum(x.trainable_weights for x in layers),
            frozen_weights=sum(x.frozen_weights for x in layers),
            outputs=sum(x.outputs for x in rest),
            connections=sum(x.connections for x in known),
            connections_exact=sum(x.connections_exact or 0 for x in known),
            unknown=tuple(dict.fromkeys(x.name for x in rest if x.connections is None)),
            cache_copies=sum(x.cache_copies for x in cache),
            not_run_weights=sum(x.weights for x in layers if x.source is Source.NOT_RUN),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "weights": self.weights,
            "trainable_weights": self.trainable_weights,
            "frozen_weights": self.frozen_weights,
            "outputs": self.outputs,
            "connections": self.connections,
            "connections_exact": self.connections_exact,
            "connections_unknown_in": list(self.unknown),
            "cache_copies": self.cache_copies,
            "not_run_weights": self.not_run_weights,
        }


@dataclass(frozen=True)
class Options:
    """What the count includes: biases and normalisation layers (the handouts' variants)."""

    convention: Convention = Convention.UNITS
    include_bias: bool = True
    include_norm: bool = True
    functional: bool = True  # ops in a container's own forward code are rows of the totals


@dataclass(frozen=True, repr=False)
class Report(Drawn):
    """A whole count: per-call layers, their totals, and what could not be counted."""

    model: str
    params: dict[str, Any]
    input_shape: tuple[int, ...]
    options: Options
    layers: tuple[LayerCount, ...]
    warnings: tuple[str, ...] = ()
    totals: Totals = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", Totals.of(self.layers))

    @property
    def convention(self) -> Convention:
        """The unit convention this report was counted under."""
        return self.options.convention

    def __repr__(self) -> str:
        """'Report(model=..., input_shape=..., layers=N, weights=..., ...)': one line."""
        t = self.totals
        unknown = " + ?" if t.unknown else ""
        return (
            f"Report(model={self.model!r}, input_shape={self.input_shape}, "
            f"convention={self.convention.value!r}, layers={len(self.layers)}, "
            f"weights={t.weights:_}, outputs={t.outputs:_}, connections={t.connections:_}"
            f"{unknown}, warnings={len(self.warnings)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json object."""
        return {
            "model": self.model,
            "params": dict(self.params),
            "input_shape": list(self.input_shape),
            "convention": self.convention.value,
            "include_bias": self.options.include_bias,
            "include_norm": self.options.include_norm,
            "functional": self.options.functional,
            "totals": self.totals.to_dict(),
            "layers": [x.to_dict() for x in self.layers],
            "warnings": list(self.warnings),
        }

    def to_pandas(self, totals: bool = False):
        """A pandas DataFrame, one row per layer (and a 'total' row when `totals`)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Report.to_pandas() needs pandas: pip install pandas") from None
        return pandas.DataFrame(flat_rows(self.to_dict(), totals))

    def _repr_html_(self) -> str:
        """The terminal's table as HTML, for a notebook cell (built here: records know no
        renderer, and rich's HTML export is a whole page)."""
        return html_table(self)


def call_label(name: str, call: int) -> str:
    """A module's name, with '(call N)' from its second call on."""
    return name if call == 0 else f"{name} (call {call + 1})"


def _listed(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)


def flat_rows(data: Mapping[str, Any], totals: bool = True) -> list[dict[str, Any]]:
    """A --json count's layers (then a 'total' row), one scalar per column: CSV, DataFrame.

    Shapes are written 1×32×16×16, lists joined with '; ', nested objects as 'key.sub'
    columns; a column a row lacks is None (the total row has no type, shapes, ...).
    """
    rows = [_flat(layer) for layer in data["layers"]]
    if totals:
        rows.append({"name": "total"} | _flat(data["totals"]))
    columns = dict.fromkeys(k for r in rows for k in r)
    return [{c: r.get(c) for c in columns} for r in rows]


def _flat(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, Mapping):
            out |= _flat(value, f"{prefix}{key}.")
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, Mapping) for v in value)
        ):
            # one object per spatial dim (a receptive field): a column per key, dims joined
            for sub in dict.fromkeys(k for v in value for k in v):
                out[f"{prefix}{key}.{sub}"] = "×".join(str(v.get(sub)) for v in value)
        elif isinstance(value, (list, tuple)):
            sep = "×" if key.endswith("shape") else "; "
            out[prefix + key] = sep.join(map(str, value))
        else:
            out[prefix + key] = value
    return out


def html_table(report: Report) -> str:
    """layer, type, output, weights, outputs, connections, exact; totals in the footer."""
    t = report.totals
    q = " + ?" if t.unknown else ""
    head = ("layer", "type", "output", "weights", "outputs", "connections", "exact")
    cells = [
        (
            x.label,
            x.type,
            "×".join(map(str, x.output_shape[1:])) if x.output_shape else "",
            *map(_count, (x.weights, x.outputs, x.connections, x.connections_exact)),
        )
        for x in report.layers
    ]
    total = ("total", "", "", _count(t.weights), _count(t.outputs))
    total += (_count(t.connections) + q, _count(t.connections_exact) + q)
    shape = "×".join(map(str, report.input_shape))
    caption = f"{report.model} on {shape}; {report.convention.value}, counts per example"
    from html import escape  # html.entities is half a MiB: only for notebooks

    lines = [f"<table><caption>{escape(caption)}</caption>", _tr(head, "th")]
    lines += [_tr(c, "td") for c in cells]
    lines += [f"<tfoot>{_tr(total, 'th')}</tfoot></table>"]
    lines += [f"<p>warning: {escape(w)}</p>" for w in report.warnings]
    return "\n".join(lines)


def _tr(cells, tag: str) -> str:
    """A row: text cells left, counts (from the fourth column on) right-aligned."""
    from html import escape

    out = []
    for i, c in enumerate(cells):
        align = ' style="text-align:right"' if i >= 3 else ' style="text-align:left"'
        out.append(f"<{tag}{align}>{escape(str(c))}</{tag}>")
    return "<tr>" + "".join(out) + "</tr>"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
