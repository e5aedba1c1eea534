"""preload: a module imported in a thread at a short GIL switch interval, then put back."""

import sys

from train.preload import SWITCH_INTERVAL, preload


def test_preload_imports_at_a_short_interval_and_restores_it(tmp_path, monkeypatch):
    (tmp_path / "preload_probe.py").write_text("import sys\nINTERVAL = sys.getswitchinterval()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "preload_probe", raising=False)
    before = sys.getswitchinterval()
    thread = preload("preload_probe")
    thread.join(timeout=60)
    assert abs(sys.modules["preload_probe"].INTERVAL - SWITCH_INTERVAL) < 1e-9
    assert sys.getswitchinterval() == before
    assert preload("preload_probe") is None  # imported already: no thread


def test_a_failing_import_is_left_to_the_user_of_the_module(tmp_path, monkeypatch):
    (tmp_path / "preload_broken.py").write_text("raise ImportError('missing piece')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = sys.getswitchinterval()
    preload("preload_broken").join(timeout=60)
    assert "preload_broken" not in sys.modules and sys.getswitchinterval() == before
