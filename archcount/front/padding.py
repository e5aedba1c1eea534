"""`archcount padding TARGET`: build the TARGET at the reference kernel and at the new one."""

from __future__ import annotations

from dataclasses import replace

from archcount.engine.build import build_model
from archcount.errors import InputError
from archcount.front.request import CountRequest, check_device, input_size
from archcount.front.target import HOMEWORK_ARGS, load_target
from archcount.padding.model import ModelPadding, solve_model

REFERENCE_KERNEL = 3


def solve_target(
    request: CountRequest,
    kernel: int,
    reference_kernel: int = REFERENCE_KERNEL,
    kernel_arg: str | None = None,
) -> ModelPadding:
    """Paddings at `kernel` keeping the shapes of `reference_kernel`, set through `kernel_arg`
    (default: the homework's `kernel`); one build at each kernel, the TARGET resolved once."""
    for flag, k in (("--k", kernel), ("--ref-k", reference_kernel)):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"{flag} must be a positive integer, got {k!r}")
    device = check_device(request.device)
    device = "meta" if device == "auto" else device  # only shapes are needed here
    factory = load_target(request.target)
    arg = kernel_arg or HOMEWORK_ARGS["k"]
    builds = []
    for k in (reference_kernel, kernel):
        at_k = replace(request, args={**request.args, arg: k})
        builds.append(build_model(factory, at_k.constructor_kwargs(factory), device))
    size = input_size(request, factory)
    return solve_model(request.target, *builds, size, kernel, reference_kernel)
