"""Changes to a derivation's per-layer forms that turn them into a user's formula exactly.

A story is one change: a layer or a group of layers left out or counted twice, biases, what
the other convention counts, a layer, a group or a run of layers scaled by a plain factor (a
size, stride, padding or kernel power written wrong), two symbols swapped in one layer, one
layer's other quantity, or part of one layer's form. Every story that fits is returned, so
an explanation can say when it cannot tell them apart; two changes only when no one fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from archcount.formulas.derived import Derivation, Forms, Poly, summed
from archcount.formulas.syntax import QUANTITIES
from archcount.records import Convention

MAX_RUN_ROWS = 400  # runs of consecutive layers are O(rows²): past this, single layers only


@dataclass(frozen=True)
class Story:
    """One change that makes the derived forms yours: what it is, and each row it changes."""

    what: str
    rows: tuple[tuple[str, Poly], ...]  # (layer label, that row's value in yours)
    delta: Poly  # truth − yours it accounts for


@dataclass(frozen=True)
class Rows:
    """The per-layer forms of one quantity, in forward order, with what stories need."""

    forms: tuple[Forms, ...]  # the requested convention's rows
    other: dict[str, Poly]  # label -> the other convention's value
    unbiased: dict[str, Poly]  # label -> the value without its bias
    quantity: str
    show: Callable[[Poly], str]
    truth: dict[str, Poly]  # label -> the requested convention's value

    def value(self, f: Forms) -> Poly:
        """A row's value of this quantity."""
        return f.polys[self.quantity]


def find(derivation: Derivation, quantity: str, difference: Poly) -> tuple[Story, ...]:
    """Every story of one change that accounts for `difference`; else every pair of atoms."""
    rows = _rows(derivation, quantity)
    atoms = list(_atoms(rows, derivation.options.convention))
    singles = [a for a in atoms if a.delta == difference]
    singles += [s for s in _fitted(rows, derivation, difference) if s.delta == difference]
    if singles:
        return _distinct(singles)
    return _distinct(_pairs(atoms, difference))


def _rows(d: Derivation, quantity: str) -> Rows:
    requested, other, unbiased = d.layers
    return Rows(
        requested,
        {f.info.label: f.polys[quantity] for f in other},
        {f.info.label: f.polys[quantity] for f in unbiased},
        quantity,
        lambda p: _written(d, p),
        {f.info.label: f.polys[quantity] for f in requested},
    )


def _atoms(rows: Rows, convention: Convention) -> Iterator[Story]:
    """Fixed changes, most likely confusions first: the convention, biases, types, layers."""
    q, live = rows.quantity, [f for f in rows.forms if _nonzero(rows, f)]
    other_name = "units" if convention is Convention.MODULES else "modules"
    for t, fs in _by_type(rows.forms):
        mine = summed(fs, q)
        theirs = _total([rows.other.get(f.info.label, {}) for f in fs])
        if not _minus(theirs, mine):
            continue
        counted_there = any(c > 0 for c in _minus(theirs, mine).values())
        yes, no = (
            (other_name, convention.value) if counted_there else (convention.value, other_name)
        )
        differ = [f for f in fs if rows.other.get(f.info.label, {}) != rows.value(f)]
        what = f"the {t} {q} ({_labels(differ)}), counted under `{yes}`, not under `{no}`"
        yours = tuple((f.info.label, rows.other.get(f.info.label, {})) for f in differ)
        yield _story(what, yours, rows)
    if q == "weights":
        yield from _bias_atoms(rows)
    groups = [(t, fs) for t, fs in _by_type(live) if len(fs) > 1]
    for t, fs in groups:
        yield from _twice_or_missing(rows, fs, f"the {t} {q} ({_labels(fs)})")
    for f in live:
        yield from _twice_or_missing(rows, [f], _name(f))


def _bias_atoms(rows: Rows) -> Iterator[Story]:
    """Biases left out or counted twice: a type's, then one layer's."""
    biased = [f for f in rows.forms if _bias(rows, f)]
    for t, fs in _by_type(biased):
        yield from _bias_changes(rows, fs, f"the {t} biases ({_labels(fs)})")
    for f in biased if len(biased) > 1 else ():
        yield from _bias_changes(rows, [f], f"the bias of {_name(f)}")


def _bias_changes(rows: Rows, fs: Sequence[Forms], what: str) -> Iterator[Story]:
    for sign, suffix in ((-1, ""), (1, " counted twice")):
        yours = tuple(
            (f.info.label, _plus(rows.value(f), _times(_bias(rows, f), sign))) for f in fs
        )
        yield _story(what + suffix, yours, rows)


def _twice_or_missing(rows: Rows, fs: Sequence[Forms], what: str) -> Iterator[Story]:
    yield _story(what, tuple((f.info.label, {}) for f in fs), rows)
    doubled = tuple((f.info.label, _times(rows.value(f), 2)) for f in fs)
    yield _story(what + " counted twice", doubled, rows)


def _fitted(rows: Rows, d: Derivation, difference: Poly) -> list[Story]:
    """Stories whose size comes from the difference: factors, swaps, other quantity, a part."""
    out = list(_scaled(rows, difference))
    out += _swapped(rows, d, difference)
    out += _other_quantity(rows, difference)
    out += _parts(rows, difference)
    return out


def _scaled(rows: Rows, difference: Poly) -> Iterator[Story]:
    """A group, a layer, or a run of consecutive layers, yours a plain factor × derived."""
    live = [f for f in rows.forms if _nonzero(rows, f)]
    for t, fs in _by_type(live):
        what = f"the {t} {rows.quantity} ({_labels(fs)})"
        yield from _scale_story(rows, what, fs, difference, rows.value)
    for f in live:
        yield from _scale_story(rows, _name(f), [f], difference, rows.value)
    for i in range(len(live) if len(live) <= MAX_RUN_ROWS else 0):
        derived = rows.value(live[i])
        for j in range(i + 1, len(live)):  # the run live[i..j], its sum kept as j grows
            derived = _plus(derived, rows.value(live[j]))
            what = _run(live, i, j + 1)
            yield from _scale_story(rows, what, live[i : j + 1], difference, rows.value, derived)
    if rows.quantity == "weights":  # the kernel written wrong, its bias right
        for f in (f for f in live if _bias(rows, f)):
            kernel = rows.unbiased.get(f.info.label, {})
            what = f"{_name(f)} without its bias"
            yield from _scale_story(rows, what, [f], difference, lambda _, k=kernel: k)


def _scale_story(rows, what, fs, difference, value, derived=None) -> Iterator[Story]:
    """The story that `fs` (valued by `value`) are a plausible factor × derived in yours."""
    derived = _total([value(f) for f in fs]) if derived is None else derived
    factor = _factor(_minus(derived, difference), derived)
    if factor is None or not _plausible(*factor):
        return
    c, mono = factor
    scale = [(f.info.label, _plus(rows.value(f), _minus(_mono(value(f), c, mono), value(f))))
             for f in fs]  # fmt: skip
    times = f" (×{c})" if not any(mono) else ""
    yours = rows.show(_minus(derived, difference))
    text = f"{what}: yours {yours}, derived {rows.show(derived)}{times}"
    yield _story(text, tuple(scale), rows)


def _swapped(rows: Rows, d: Derivation, difference: Poly) -> Iterator[Story]:
    """One layer with two symbols swapped (NIC for NF)."""
    names = [v.name for v in d.variables]
    for f in rows.forms:
        t = rows.value(f)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                moved = {_swap(e, i, j): c for e, c in t.items()}
                if _minus(t, moved) == difference:
                    what = f"{_name(f)} with {names[i]} and {names[j]} swapped"
                    yield _story(what, ((f.info.label, moved),), rows)


def _other_quantity(rows: Rows, difference: Poly) -> Iterator[Story]:
    """Yours is the derived total of another quantity, or one layer's other quantity."""
    q = rows.quantity
    for other in (x for x in QUANTITIES if x != q):
        whole = [rows.value(f) for f in rows.forms] + [
            _times(f.polys[other], -1) for f in rows.forms
        ]
        if _total(whole) == difference:
            swapped = tuple((f.info.label, f.polys[other]) for f in rows.forms)
            yield _story(f"yours is the derived {other}, not the {q}", swapped, rows)
        for f in rows.forms:
            if _minus(rows.value(f), f.polys[other]) == difference:
                what = f"{_name(f)} with its {other} ({rows.show(f.polys[other])}) as its {q}"
                yield _story(what, ((f.info.label, f.polys[other]),), rows)


def _parts(rows: Rows, difference: Poly) -> Iterator[Story]:
    """Some terms of one layer's form left out, or counted twice."""
    for f in rows.forms:
        t = rows.value(f)
        for sign, how in ((1, "left out"), (-1, "counted twice")):
            part = _times(difference, sign)
            if 0 < len(part) < len(t) and all(t.get(e) == c for e, c in part.items()):
                what = f"{_name(f)} with its term {rows.show(part)} {how}"
                yield _story(what, ((f.info.label, _minus(t, difference)),), rows)


def _pairs(atoms: Sequence[Story], difference: Poly) -> list[Story]:
    """Two atoms whose changes together account for the difference."""
    index: dict[frozenset, list[int]] = {}
    for i, a in enumerate(atoms):
        index.setdefault(frozenset(a.delta.items()), []).append(i)
    out = []
    for i, a in enumerate(atoms):
        for j in index.get(frozenset(_minus(difference, a.delta).items()), ()):
            if j > i and not {r for r, _ in a.rows} & {r for r, _ in atoms[j].rows}:
                b = atoms[j]
                out.append(Story(f"{a.what}, and {b.what}", a.rows + b.rows, difference))
    return out


def _distinct(stories: Sequence[Story]) -> tuple[Story, ...]:
    """One story per change of the rows (the same change reached two ways: the first)."""
    seen: dict[frozenset, Story] = {}
    for s in stories:
        key = frozenset((label, frozenset(p.items())) for label, p in s.rows)
        seen.setdefault(key, s)
    return tuple(seen.values())


def _story(what: str, yours: tuple[tuple[str, Poly], ...], rows: Rows) -> Story:
    """A story and the difference it accounts for (truth − yours over the rows it changes)."""
    changed = tuple((label, p) for label, p in yours if p != rows.truth.get(label, {}))
    delta = _total([_minus(rows.truth.get(label, {}), p) for label, p in changed])
    return Story(what, changed, delta)


def _written(d: Derivation, p: Poly) -> str:
    """A value as the derivation writes it; a whole number (a count at a point) as 45,056."""
    expr = d.expr(p)
    return f"{int(expr):,}" if expr.is_Integer else d.show(expr)


def _factor(yours: Poly, derived: Poly) -> tuple[Fraction, tuple[int, ...]] | None:
    """(c, monomial m) with yours = c·m·derived, or None (monomial order survives ×m)."""
    if not yours or not derived or len(yours) != len(derived):
        return None
    ys, ds = sorted(yours.items()), sorted(derived.items())
    mono = tuple(a - b for a, b in zip(ys[0][0], ds[0][0]))
    c = ys[0][1] / ds[0][1]
    for (ey, cy), (ed, cd) in zip(ys, ds):
        if tuple(a - b for a, b in zip(ey, ed)) != mono or cy != c * cd:
            return None
    return c, mono


def _plausible(c: Fraction, mono: tuple[int, ...]) -> bool:
    """A factor a slip makes: one symbol's power off by 1 or 2 (k for k²), a power of 2 up to
    16 (stride, pooling), or a map's size a little off in 2 or 3 dimensions ((31/32)²)."""
    moved = [e for e in mono if e]
    if len(moved) > 1 or any(abs(e) > 2 for e in moved):
        return False
    if c == 1:
        return bool(moved)
    return c > 0 and (_power_of_two(c) or _near_one_power(c))


def _power_of_two(c: Fraction) -> bool:
    """2^m for |m| <= 4: a stride or pooling window of 2 or 4, in up to 3 dimensions."""
    a, b = c.numerator, c.denominator
    return (a == 1 or b == 1) and max(a, b) <= 16 and (a & (a - 1)) == 0 and (b & (b - 1)) == 0


def _near_one_power(c: Fraction) -> bool:
    """(a/b)^j, j = 2 or 3, for sizes 4 <= a, b <= 256 at most 2 apart: a map a little off.
    In one dimension such a ratio is too common among counts to mean anything."""
    for j in (2, 3):
        a, b = _root(c.numerator, j), _root(c.denominator, j)
        if a and b and abs(a - b) <= 2 and min(a, b) >= 4 and max(a, b) <= 256:
            return True
    return False


def _root(x: int, j: int) -> int:
    """The exact integer j-th root of x, else 0."""
    r = round(x ** (1 / j))
    return next((y for y in (r - 1, r, r + 1) if y > 0 and y**j == x), 0)


def _mono(p: Poly, c: Fraction, mono: tuple[int, ...]) -> Poly:
    return {tuple(a + b for a, b in zip(e, mono)): c * v for e, v in p.items()}


def _swap(e: tuple[int, ...], i: int, j: int) -> tuple[int, ...]:
    out = list(e)
    out[i], out[j] = out[j], out[i]
    return tuple(out)


def _bias(rows: Rows, f: Forms) -> Poly:
    return _minus(rows.value(f), rows.unbiased.get(f.info.label, rows.value(f)))


def _nonzero(rows: Rows, f: Forms) -> bool:
    return bool(rows.value(f))


def _name(f: Forms) -> str:
    return f"{f.info.label} ({f.info.type})"


def _run(live: Sequence[Forms], i: int, j: int) -> str:
    if i == 0 and j == len(live):
        return "every layer"
    return f"{live[i].info.label} to {live[j - 1].info.label} ({j - i} layers)"


def _by_type(forms: Sequence[Forms]) -> list[tuple[str, list[Forms]]]:
    groups: dict[str, list[Forms]] = {}
    for f in forms:
        groups.setdefault(f.info.type, []).append(f)
    return list(groups.items())


def _labels(forms: Sequence[Forms]) -> str:
    return ", ".join(f.info.label for f in forms)


def _total(polys: Sequence[Poly]) -> Poly:
    out: Poly = {}
    for p in polys:
        out = _plus(out, p)
    return out


def _plus(a: Poly, b: Poly) -> Poly:
    out = dict(a)
    for e, c in b.items():
        out[e] = out.get(e, Fraction(0)) + c
    return {e: c for e, c in out.items() if c}


def _minus(a: Poly, b: Poly) -> Poly:
    return _plus(a, _times(b, -1))


def _times(p: Poly, k) -> Poly:
    return {e: c * k for e, c in p.items() if c * k}
