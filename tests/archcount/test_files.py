"""archcount.files: the one atomic writer, checked at its edges."""

import os

import pytest

from archcount import files


def test_an_interrupt_just_after_the_rename_stays_an_interrupt(tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM) between os.replace and leaving the writer is not a write error."""
    target = tmp_path / "out.json"
    target.write_text("old")
    replace = os.replace

    def replace_then_interrupt(src, dst):
        replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(files.WriteError, match="Permission denied"):
        files.write_atomic(target, "new", "--output")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
