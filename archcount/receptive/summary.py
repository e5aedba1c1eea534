"""Frozen records of a receptive-field pass: per spatial dim, per layer call, and the output."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcount.engine.rules.field import Field
from archcount.records import Drawn, call_label


@dataclass(frozen=True)
class DimField:
    """One spatial dim: extents over the positions of one period, jump and offset."""

    field: Field  # output position c + m·period reads field.reads[c] + m·shift

    @classmethod
    def of(cls, field: Field) -> DimField:
        """The summary of a Field."""
        return cls(field)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Extent of the field of each output position of one period."""
        return self.field.sizes

    @property
    def period(self) -> int:
        """Output positions per period."""
        return self.field.period

    @property
    def shift(self) -> int:
        """Input positions per period: jump = shift / period."""
        return self.field.shift

    @property
    def offset(self) -> int | None:
        """First input position output 0 reads (negative: in the padding)."""
        return self.field.offset

    @property
    def largest(self) -> int:
        """The largest extent over output positions (away from borders)."""
        return self.field.largest

    @property
    def smallest(self) -> int:
        """The smallest extent over output positions (away from borders)."""
        return self.field.smallest

    @property
    def jump(self) -> Fraction:
        """Input positions per output position (the effective stride)."""
        return self.field.jump

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (jump = shift / period exactly; a float for convenience)."""
        return {
            "largest": self.largest,
            "smallest": self.smallest,
            "jump": float(self.jump),
            "period": self.period,
            "shift": self.shift,
            "offset": self.offset,
        }


@dataclass(frozen=True)
class LayerField:
    """The receptive field of one module call's output, per spatial dim (None: unknown)."""

    name: str
    call: int
    type: str
    dims: tuple[DimField, ...] | None
    depends: bool = True  # False: the output does not depend on the input at all

    @property
    def label(self) -> str:
        """The row label, as in the count's table."""
        return call_label(self.name, self.call)

    def to_dict(self) -> list[dict[str, Any]] | None:
        """Per dim dicts, or None (null) when unknown or independent of the input."""
        return None if self.dims is None else [d.to_dict() for d in self.dims]


@dataclass(frozen=True, repr=False)
class ReceptiveFields(Drawn):
    """A whole pass: each counted module call's field, the model output's, and warnings
    (print() shows the table)."""

    layers: tuple[LayerField, ...]
    output: tuple[DimField, ...] | None
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """'ReceptiveFields(layers=N, output=(size per dim), warnings=N)': one line."""
        sizes = None if self.output is None else tuple(d.largest for d in self.output)
        return (
            f"ReceptiveFields(layers={len(self.layers)}, output={sizes}, "
            f"warnings={len(self.warnings)})"
        )

    def by_label(self) -> dict[str, LayerField]:
        """Row label -> field."""
        return {x.label: x for x in self.layers}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the output's field, every layer's, the warnings."""
        return {
            "output": None if self.output is None else [d.to_dict() for d in self.output],
            "layers": [{"name": x.label, "receptive_field": x.to_dict()} for x in self.layers],
            "warnings": list(self.warnings),
        }
