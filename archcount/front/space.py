"""TARGET options -> where `derive` and `check` sample: the Space, the variables, the held values.

Which constructor argument or input size a symbol stands for is the model's declaration
(`formula_symbols`), else each constructor argument is its own symbol; the input
comes from --input-shape (integers and symbols, e.g. 4,L) or the declaration. Nothing is
guessed from names here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from archcount.engine.build import accepted, arguments, build_model
from archcount.errors import DerivationError
from archcount.formulas.closed_form import Symbols, size_names
from archcount.formulas.declared import agreement, declared_symbols
from archcount.formulas.derive import derive
from archcount.formulas.derived import Derivation, Variable
from archcount.formulas.explain import Verdict, compare
from archcount.formulas.receptive import FieldDerivation, derive_fields
from archcount.formulas.sample import Space
from archcount.formulas.symbolic import parse_expectation, symbols
from archcount.front.target import load_target
from archcount.records import Options

SIZE_BASE = 32  # where an input size is probed from when the model declares no default


@dataclass(frozen=True)
class Sampled:
    """A TARGET resolved once for derivation: its class, arguments and sample space."""

    name: str
    cls: type
    given: dict[str, Any]  # every named constructor argument: given, else default
    space: Space  # its symbols: the declared ones, and every other argument under its name
    declared: Symbols  # the model's own (or, when it declares none, every argument)

    @property
    def sizes(self) -> tuple[str, ...]:
        """The input-size symbols of the space's input."""
        return size_names(self.space.input, self.space.symbols.params)

    @property
    def known(self) -> tuple[str, ...]:
        """Every symbol a formula of this model may use."""
        return (*self.space.symbols.params, *self.sizes)


@dataclass(frozen=True)
class Plan:
    """A derivation to run: over which variables, with what held."""

    variables: tuple[Variable, ...]
    fixed: dict[str, int]
    held: dict[str, int]  # every symbol that is no variable: fixed, or its argument's value


def model_class(factory: Callable[..., Any], kwargs: Mapping[str, Any]) -> type:
    """The class of the model a factory builds (the factory itself when it is a class)."""
    if isinstance(factory, type):
        return factory
    return type(build_model(factory, kwargs, "meta"))


def sampled(
    target: str | Callable[..., Any],
    kwargs: Mapping[str, Any] | None = None,
    input_shape: tuple[str | int, ...] | None = None,
) -> Sampled:
    """Resolve TARGET (a string, or the factory itself) once; its symbols and input.

    The symbols are the model's declared ones, else its constructor arguments.
    """
    factory = load_target(target) if isinstance(target, str) else target
    if not isinstance(target, str):
        target = getattr(factory, "__name__", repr(factory))
    kwargs = dict(kwargs or {})
    cls = model_class(factory, kwargs)
    given = arguments(factory, kwargs)
    declared = declared_symbols(cls, _named_arguments(factory, given))
    # any other constructor argument may be a variable too, under its own name
    mapped = set(declared.params.values())
    extra = {n: n for n in _named_arguments(factory, given) if n not in mapped}
    symbols = replace(declared, params={**declared.params, **extra})
    shape = tuple(input_shape) if input_shape is not None else symbols.input
    if not shape:
        raise DerivationError(
            f"{target} declares no input: give --input-shape, e.g. 3,32,32, or with a "
            "symbol for a size, 3,S,S"
        )
    return Sampled(target, cls, given, Space(factory, symbols, shape, kwargs), declared)


def plan(model: Sampled, names: Sequence[str] | None, fix: Mapping[str, int]) -> Plan:
    """Variables (default: every symbol not given as an argument) and the held values."""
    params = model.space.symbols.params
    if names is None:  # every size, and every declared integer argument not given by --arg
        names = [
            n
            for n in model.known
            if n not in params
            or (
                n in model.declared.params
                and params[n] not in model.space.arguments
                and _positive(model.given.get(params[n]))
            )
        ]
    alias = {p: s for s, p in model.declared.params.items()}  # --vars num_filters means NF
    names = [alias.get(n, n) for n in names]
    fix = {alias.get(n, n): v for n, v in fix.items()}
    for name in [*names, *fix]:
        if name not in model.known:
            raise DerivationError(
                f"{name} is neither an input size ({', '.join(model.sizes) or 'none'}) nor a "
                f"constructor argument (it takes: {', '.join(sorted(model.given)) or 'nothing'})"
            )
    variables = tuple(Variable(n, _start(n, model)) for n in names if n not in fix)
    free = {v.name for v in variables}
    fixed = dict(fix)
    for name in model.sizes:
        if name not in free:
            fixed.setdefault(name, model.space.symbols.defaults.get(name, SIZE_BASE))
    for name in (x for x in model.space.input if x in params and x not in free | set(fixed)):
        if not _positive(model.given.get(params[name])):  # the input takes the argument's value
            raise DerivationError(f"{name} sizes the input: give it with --fix {name}=N")
    # the declared formulas' symbols at this model: arguments, and sizes a concrete input gives
    held = model.declared.read(model.given, model.space.input) | fixed
    return Plan(variables, fixed, {s: v for s, v in held.items() if s not in free})


def derive_target(
    model: Sampled, names: Sequence[str] | None, fix: Mapping[str, int], options: Options
) -> tuple[Derivation, dict[str, bool]]:
    """The closed forms, and whether each equals the model's declared one."""
    p = plan(model, names, fix)
    derivation = derive(model.space, model.name, p.variables, p.fixed, options)
    return derivation, agreement(model.cls, p.held, derivation)


def check_target(
    model: Sampled,
    expect: Sequence[str],
    fix: Mapping[str, int],
    options: Options,
    size: int | None = None,
) -> tuple[Derivation, list[Verdict]]:
    """Each 'QUANTITY=FORMULA' against the derived truth; sizes it leaves out are held."""
    expected = [parse_expectation(text, symbols(model.known)) for text in expect]
    used = {str(s) for _, e in expected for s in e.free_symbols}
    fix = dict(fix) | {s: size for s in model.sizes if size is not None and s not in fix}
    names = [
        n for n in plan(model, None, {}).variables if n.name not in model.sizes or n.name in used
    ]
    derivation, _ = derive_target(model, [v.name for v in names], fix, options)
    return derivation, [compare(derivation, q, e) for q, e in expected]


def _named_arguments(factory, given: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor's named arguments (the symbols of a model that declares none)."""
    sig = accepted(factory)
    if sig is None:
        return dict(given)
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {n: given.get(n) for n, p in sig.parameters.items() if p.kind not in kinds}


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _start(name: str, model: Sampled) -> int:
    """Where probing starts: an argument's value (else 4), an input size's default (else 32)."""
    symbols = model.space.symbols
    if name not in symbols.params:
        return symbols.defaults.get(name, SIZE_BASE)
    value = model.given.get(symbols.params[name])
    return value if _positive(value) else 4


def derive_fields_target(
    model: Sampled, names: Sequence[str] | None, fix: Mapping[str, int], per_layer: bool = False
) -> FieldDerivation:
    """The receptive field's closed forms in the planned variables, per residue class."""
    p = plan(model, names, fix)
    return derive_fields(model.space, model.name, p.variables, p.fixed, per_layer)
