"""Shared fixtures of the archcount tests."""

from pathlib import Path

import pytest


@pytest.fixture
def toys_importable(monkeypatch):
    """Make this folder's toy models (toys.py, padding_toys.py) importable as TARGETs."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
