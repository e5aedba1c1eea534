"""Turn what the hooks saw into LayerCount rows, under a convention and the user's options."""

from __future__ import annotations

from math import prod

from torch import nn

from archcount.engine.rules.registry import Taps, failure, own_bias
from archcount.errors import RuleError
from archcount.records import Convention, Kind, LayerCount, Options, Source


def layer_row(call, registry, options: Options, batch: int, seen: set[int], warnings: list[str]):
    """The row of one call, or None for a normalisation layer the user leaves out."""
    rule = registry.lookup(type(call.module))
    kind = rule.kind if rule else Kind.UNSUPPORTED
    if kind is Kind.NORM and not options.include_norm:
        _claim(call.module, seen, lambda _: False)
        return None
    biases = rule.biases_of(call.module) if rule else own_bias(call.module)
    weights = _claim_weights(call.module, kind, options, biases, seen)
    outputs, nominal, exact = _counts(call, rule, kind, options.convention, warnings)
    if exact is not None and getattr(call, "masked", 0):
        exact -= call.masked  # attention scores a mask removes (engine.attention)
    if kind is Kind.UNSUPPORTED:
        _warn_unsupported(call, warnings)
    # counts divide by the batch only when the call's inputs carry it (not position ids);
    # a rule may read the call's batch off its inputs (an LSTM's is dim 1 unless batch_first)
    if rule is not None and rule.batch is not None:
        batch = rule.batch(call.module, call.inputs)
    elif not getattr(call, "batched", True):
        batch = 1
    per = PerExample(batch, call.name, warnings)
    return _call_row(call, kind, weights, (per(outputs), per(nominal), per(exact)))


def _claim_weights(module: nn.Module, kind: Kind, options: Options, biases, seen: set[int]):
    """(trainable, frozen) of the module's unseen parameters under the bias option.

    "Ignore biases" means the biases of weighted layers; a norm's shift goes with the norm.
    """
    keep_bias = options.include_bias or kind is Kind.NORM
    ids = {id(p) for p in biases}
    return _claim(module, seen, lambda p: keep_bias or id(p) not in ids)


def _call_row(call, kind: Kind, weights: tuple[int, int], counts, **extra) -> LayerCount:
    """The LayerCount of one module call: its weights and (outputs, nominal, exact)."""
    outputs, nominal, exact = counts
    return LayerCount(
        name=call.name,
        type=type(call.module).__name__,
        kind=kind,
        call=call.call,
        input_shape=call.inputs[0] if call.inputs else None,
        output_shape=call.outputs[0] if call.outputs else None,
        trainable_weights=weights[0],
        frozen_weights=weights[1],
        outputs=outputs,
        connections=nominal,
        connections_exact=exact,
        **extra,
    )


def _counts(call, rule, kind: Kind, convention: Convention, warnings: list[str]):
    """(outputs, nominal, exact) for the whole batch; None connections when unknown."""
    if kind.silent_under(convention):
        return 0, 0, 0
    if rule is not None and rule.outputs is not None:
        outputs = rule.outputs(call.module, call.inputs, call.outputs)
    else:
        outputs = sum(prod(s) for s in call.outputs)
    if rule is None or rule.fn is None:
        return outputs, None, None
    try:
        taps = rule.fn(call.module, call.inputs, call.outputs)
    except Exception as exc:  # a configuration the rule cannot count: unknown, not a crash
        msg = f"{_where(call)}: its rule failed ({failure(exc)}); connections unknown"
        if msg not in warnings:  # once per module, not once per call
            warnings.append(msg)
        return outputs, None, None
    if isinstance(taps, int) and not isinstance(taps, bool):
        taps = Taps(taps, taps)
    if not isinstance(taps, Taps) or min(taps.nominal, taps.exact) < 0:
        raise RuleError(f"the rule for {type(call.module).__name__} returned {taps!r}")
    return outputs, taps.nominal, taps.exact


def _where(call) -> str:
    return f"{call.name} ({type(call.module).__name__})"


def _claim(module: nn.Module, seen: set[int], keep) -> tuple[int, int]:
    """(trainable, frozen) elements of params not seen before and kept; marks all as seen."""
    trainable = frozen = 0
    for p in module.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if keep(p):
            if p.requires_grad:
                trainable += p.numel()
            else:
                frozen += p.numel()
    return trainable, frozen


def _warn_unsupported(call, warnings: list[str]) -> None:
    t = type(call.module).__name__
    msg = (
        f"no rule for {t} ({call.name}): its connections are unknown; register one with "
        f"@archcount.rule({t})"
    )
    if not any(w.startswith(f"no rule for {t} ") for w in warnings):
        warnings.append(msg)


class PerExample:
    """n // batch for a whole-batch count; one that does not divide stays whole, with a warning."""

    def __init__(self, batch: int, name: str, warnings: list[str]) -> None:
        self.batch, self.name, self.warnings = batch, name, warnings

    def __call__(self, n: int | None) -> int | None:
        if n is None or n % self.batch == 0:
            return None if n is None else n // self.batch
        self.warnings.append(
            f"{self.name}: {n} is not a multiple of the batch {self.batch}; counted whole"
        )
        return n


# --- rows counted from aten ops (engine.record) ----------------------------------------------


def ops_kind(tallies) -> Kind:
    """A module counted from its ops: unknown if one has no rule, element-wise if all are."""
    kinds = {k for _, k in tallies} - {Kind.CACHE}
    if Kind.UNSUPPORTED in kinds or any(t.nominal is None for t in tallies.values()):
        return Kind.UNSUPPORTED
    weighted = kinds - {Kind.ELEMENTWISE, Kind.VIEW}
    if weighted:
        return Kind.NORM if weighted == {Kind.NORM} else Kind.LAYER
    return Kind.ELEMENTWISE if Kind.ELEMENTWISE in kinds else Kind.VIEW


def summed(tallies, kind: Kind, convention: Convention):
    """(outputs, nominal, exact) of the non-silent ops; connections None when one is unknown."""
    if kind.silent_under(convention):
        return 0, 0, 0
    live = [
        t for (_, k), t in tallies.items() if k is not Kind.CACHE and not k.silent_under(convention)
    ]
    outputs = sum(t.outputs for t in live)
    if kind is Kind.UNSUPPORTED:
        return outputs, None, None
    return outputs, sum(t.nominal for t in live), sum(t.exact for t in live)


def op_parts(
    tallies, kind: Kind, convention: Convention
) -> tuple[tuple[str, int, int | None], ...]:
    """(op, calls, nominal connections as the row counts them) of each op, cache copies apart:
    an element-wise op under `units` shows 0, so the parts add up to the row."""
    silent = kind.silent_under(convention)
    return tuple(
        (op, t.calls, 0 if silent or k.silent_under(convention) else t.nominal)
        for (op, k), t in tallies.items()
        if k is not Kind.CACHE
    )


def warn_unknown_ops(where: str, tallies, warnings: list[str]) -> None:
    """Name each op without a rule (once)."""
    for (op, k), t in tallies.items():
        if k is Kind.UNSUPPORTED or (t.nominal is None and t.error is None):
            msg = (
                f"no rule for {op} (in {where}): its connections are unknown; register one "
                f"with @archcount.op_rule(torch.ops.{op})"
            )
            if msg not in warnings:
                warnings.append(msg)


def ops_row(call, options: Options, seen: set[int], warnings: list[str]) -> LayerCount | None:
    """The row of one call of a module without a rule: the sum of its ops (per example)."""
    kind = ops_kind(call.tallies)
    if kind is Kind.NORM and not options.include_norm:
        _claim(call.module, seen, lambda _: False)
        return None
    weights = _claim_weights(call.module, kind, options, own_bias(call.module), seen)
    passed = claim_params(call.params, seen)  # another module's, handed to it and read
    weights = (weights[0] + passed[0], weights[1] + passed[1])
    # outputs are what the call returned, as for a rule's row; its ops' intermediates only
    # add connections (RMSNorm's mean and rsqrt are no outputs of the layer)
    _, nominal, exact = summed(call.tallies, kind, options.convention)
    outputs = 0 if kind.silent_under(options.convention) else call.units
    counts = (outputs, nominal, exact)
    warn_unknown_ops(f"{call.name} ({type(call.module).__name__})", call.tallies, warnings)
    parts = op_parts(call.tallies, kind, options.convention)
    return _call_row(call, kind, weights, counts, source=Source.OPS, ops=parts)


def functional_row(owner: str, key, tally, options: Options, warnings, weights=(0, 0)):
    """One op of a container's own code over all its calls: 'h.0.attn (aten.bmm ×2)'."""
    op, kind = key
    copies = 0
    if kind is Kind.CACHE:  # copies into a kept state: in no column of the totals, apart
        outputs, nominal, exact, copies = 0, 0, 0, tally.nominal or 0
    else:
        one = {key: tally}
        kind = ops_kind(one) if kind is not Kind.UNSUPPORTED else kind
        outputs, nominal, exact = summed(one, kind, options.convention)
        warn_unknown_ops(owner, one, warnings)
    return LayerCount(
        name=f"{owner} ({op} ×{tally.calls})",
        type=op,
        kind=kind,
        call=0,
        input_shape=None,
        output_shape=None,
        trainable_weights=weights[0],
        frozen_weights=weights[1],
        outputs=outputs,
        connections=nominal,
        connections_exact=exact,
        source=Source.FUNCTIONAL,
        owner=owner,
        ops=((op, tally.calls, nominal),),
        cache_copies=copies,
    )


def claim_params(params, seen: set[int]) -> tuple[int, int]:
    """(trainable, frozen) elements of `params` not seen before; marks them seen."""
    trainable = frozen = 0
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            trainable += p.numel() if p.requires_grad else 0
            frozen += 0 if p.requires_grad else p.numel()
    return trainable, frozen


def held_row(
    owner: str, weights: tuple[int, int], source: Source, suffix: str = "parameters",
    type_: str = "parameters",
) -> LayerCount:  # fmt: skip
    """Parameters a module holds and its own code reads (or never reads): weights only."""
    return LayerCount(
        name=f"{owner} ({suffix})",
        type=type_,
        kind=Kind.VIEW,
        call=0,
        input_shape=None,
        output_shape=None,
        trainable_weights=weights[0],
        frozen_weights=weights[1],
        outputs=0,
        connections=0,
        connections_exact=0,
        source=source,
        owner=owner,
    )


def idle_and_held(model: nn.Module, rec, seen: set[int], warnings: list[str]) -> list[LayerCount]:
    """Rows for the weights no counted call claimed: read straight from a module that never
    ran, held by one that never ran ("not run"), or held by a container and never read."""
    rows = []
    for name, module in model.named_modules():  # DeBERTa's rel_embeddings.weight
        read = [p for p in module.parameters(recurse=False) if id(p) in rec.read]
        weights = claim_params(read, seen)
        if sum(weights):
            rows.append(held_row(name or type(model).__name__, weights, Source.FUNCTIONAL))
    idle = _idle(model, rec.ran, seen)
    for name, module, weights in idle:
        label = f"{type(module).__name__}, not run"
        rows.append(held_row(name, weights, Source.NOT_RUN, label, "not run"))
    if idle:
        warnings.append(_idle_warning(model, idle))
    for name, module in model.named_modules():
        weights = claim_params(module.parameters(recurse=False), seen)
        if sum(weights):
            label = name or type(model).__name__
            warnings.append(
                f"{label} holds {sum(weights):,} weights that no op of its forward read: "
                "counted as weights, with no connections"
            )
            rows.append(held_row(label, weights, Source.FUNCTIONAL))
    return rows


def _idle_warning(model: nn.Module, idle: list) -> str:
    """One line naming the modules that never ran and the weights counted apart for them."""
    total = sum(sum(w) for _, _, w in idle)
    tail = f"their {total:,} weights are counted apart, as 'not run' (no outputs or connections)"
    if len(idle) == 1:
        ((name, module, _),) = idle
        return (
            f"{name or type(model).__name__} ({type(module).__name__}) never ran in forward: {tail}"
        )
    names = ", ".join(name for name, _, _ in idle[:3])
    more = f" and {len(idle) - 3} more" if len(idle) > 3 else ""
    return f"{len(idle)} modules never ran in forward ({names}{more}): {tail}"


def _idle(model: nn.Module, ran: set[int], seen: set[int]) -> list[tuple[str, nn.Module, tuple]]:
    """The outermost modules nothing inside of ran, with the (trainable, frozen) weights they
    hold unseen (marked seen). A ModuleList is never called itself: it is idle only when none
    of its blocks ran."""
    active: set[int] = set()

    def visit(module: nn.Module) -> bool:
        inside = [visit(child) for child in module.children()]
        if id(module) in ran or any(inside):
            active.add(id(module))
        return id(module) in active

    visit(model)
    out, done = [], set()
    for name, module in model.named_modules(remove_duplicate=True):
        if id(module) in active or any(name.startswith(d + ".") for d in done):
            continue
        done.add(name)
        weights = claim_params(module.parameters(), seen)
        if sum(weights):
            out.append((name, module, weights))
    return out
