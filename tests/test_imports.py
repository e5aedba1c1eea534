"""Every module of archcount, models and train imports on its own, in a fresh interpreter.

A module that only works once some other module has been imported first (an import cycle
broken by luck, a name patched in from elsewhere) fails here, not in a user's session.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("archcount", "models", "train")


def modules() -> list[str]:
    """Dotted names of every .py file under the packages; `__main__` runs a program, skipped."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _import(module: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", f"import {module}"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


@cache
def imported() -> dict[str, subprocess.CompletedProcess]:
    """All imports at once, in threads: each is a process that spends ~1-2 s importing torch."""
    names = modules()
    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(names, pool.map(_import, names)))


def test_the_walk_finds_every_package():
    found = set(modules())
    assert {"archcount", "archcount.engine.walk", "models", "train.loop"} <= found
    assert not any(name.endswith("__main__") for name in found)


@pytest.mark.parametrize("module", modules())
def test_module_imports_alone(module):
    done = imported()[module]
    assert done.returncode == 0, f"import {module} failed:\n{done.stderr}"


def _cycle(graph, modules: set[str]) -> list[str] | None:
    """One import cycle among `modules` (each module, then the one it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.find_modules_directly_imported_by(m) & modules):
            if state.get(n) == 1:
                return [*path[path.index(n) :], n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(modules):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle_inside_archcount():
    """Function-level imports count too: a cycle broken by a late import is still a cycle."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("archcount")
    assert _cycle(graph, set(graph.modules)) is None
