"""The cyclic garbage collector in a short `python -m train` process.

Every full collection walks every tracked object, and torch's import makes hundreds of
thousands: collections during the imports (torch, then torch._dynamo, which Adam's constructor
imports) and the last one at exit walked them again and again, 0.4 s at start and 0.3-0.6 s at
exit of a two-minute run. Frozen objects are skipped; freezing keeps them alive, which these
(modules, functions, classes) are until the process ends anyway.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def frozen_after() -> Iterator[None]:
    """The collector paused for the block (the imports), then every object alive frozen."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def freeze() -> None:
    """Freeze every object alive now: the interpreter's last collection at exit skips them."""
    gc.freeze()
