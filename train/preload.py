"""Import a heavy module (matplotlib, for the pictures) in a thread while the net trains.

A training step spends most of its time inside torch ops, which release the GIL, so the import
runs on another core. But each time an op returns, the training thread must win the GIL back,
and at Python's default 5 ms switch interval it waited up to that long after every op: the first
epoch took 0.4 s longer, as much as the import saved. While the import runs the interval is
0.2 ms.
"""

from __future__ import annotations

import importlib
import sys
import threading

SWITCH_INTERVAL = 2e-4  # seconds: the GIL changes hands within this while the import runs


def preload(name: str) -> threading.Thread | None:
    """Start importing module `name` in a daemon thread; None when it is imported already."""
    if name in sys.modules:
        return None
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))

    def run() -> None:
        try:
            importlib.import_module(name)
        except Exception:  # where the module is used, importing it again raises the error
            pass
        finally:
            sys.setswitchinterval(before)

    thread = threading.Thread(target=run, name=f"preload {name}", daemon=True)
    thread.start()
    return thread
