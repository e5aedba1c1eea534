"""Exact tensor-product interpolation: values on an integer grid -> monomial coefficients.

On a grid nodes_1 × … × nodes_n the polynomial with degree < len(nodes_i) in variable i
that takes the given values is unique; its coefficients are V_1^-1 ⊗ … ⊗ V_n^-1 applied to
the values (V_i the Vandermonde matrix of nodes_i). We apply each V_i^-1 as an integer
matrix over a common denominator, so the whole solve stays in Python integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from math import lcm

import numpy as np

Monomial = tuple[int, ...]


def vandermonde_inverse(nodes: Sequence[int]) -> tuple[list[list[int]], int]:
    """(A, D) with A / D = V^-1, V[i][j] = nodes[i]**j: coefficients = A @ values / D."""
    size = len(nodes)
    rows = [
        [Fraction(x) ** j for j in range(size)] + [Fraction(int(i == r)) for r in range(size)]
        for i, x in enumerate(nodes)
    ]
    for col in range(size):  # Gauss-Jordan; nodes are distinct so pivots never vanish
        pivot = rows[col][col]
        rows[col] = [v / pivot for v in rows[col]]
        for r in range(size):
            if r != col and rows[r][col]:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    inverse = [row[size:] for row in rows]
    denom = lcm(*(v.denominator for row in inverse for v in row))
    return [[int(v * denom) for v in row] for row in inverse], denom


@dataclass(frozen=True)
class Fit:
    """Coefficients of many polynomials at once: coeffs[e_1, …, e_n, q] / denom."""

    coeffs: np.ndarray  # object dtype: Python ints for counts (Fractions work too)
    denom: int

    def polynomial(self, q: int) -> dict[Monomial, Fraction]:
        """Non-zero coefficients of polynomial `q`, by exponent tuple."""
        block = self.coeffs[..., q]
        if block.ndim == 0:  # no variables: the constant alone
            return {(): Fraction(block[()]) / self.denom} if block[()] else {}
        return {
            tuple(int(e) for e in exps): Fraction(block[exps]) / self.denom
            for exps in zip(*np.nonzero(block != 0))
        }

    def evaluate(self, point: Sequence[int]) -> list[Fraction]:
        """Every polynomial's exact value at `point`."""
        data = self.coeffs
        for x in point:  # contract the leading axis with (1, x, x², …)
            powers = np.array([x**j for j in range(data.shape[0])], dtype=object)
            data = np.tensordot(powers, data, axes=([0], [0]))
        return [Fraction(v) / self.denom for v in data]


def fit(nodes: Sequence[Sequence[int]], values: dict[tuple[int, ...], Sequence[int]]) -> Fit:
    """Interpolate every component of `values` (keyed by grid point) on the product grid."""
    shape = tuple(len(axis) for axis in nodes)
    width = len(next(iter(values.values())))
    data = np.empty((*shape, width), dtype=object)
    for index in product(*(range(s) for s in shape)):
        data[index] = list(values[tuple(axis[i] for axis, i in zip(nodes, index))])
    denom = 1
    for axis, axis_nodes in enumerate(nodes):
        matrix, d = vandermonde_inverse(axis_nodes)
        denom *= d
        mixed = np.tensordot(np.array(matrix, dtype=object), data, axes=([1], [axis]))
        data = np.moveaxis(mixed, 0, axis)
    return Fit(data, denom)
