"""The base of every dispatch layer archcount runs: a TorchDispatchMode that skips torch._dynamo."""

from __future__ import annotations

from torch.utils._python_dispatch import TorchDispatchMode


class DispatchMode(TorchDispatchMode):
    """A TorchDispatchMode whose subclasses' `__torch_dispatch__` runs unwrapped."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # True makes torch wrap a subclass's __torch_dispatch__ in torch._disable_dynamo, whose
        # first call imports torch._dynamo (~0.75 s of start-up); nothing here runs torch.compile.
        return False
