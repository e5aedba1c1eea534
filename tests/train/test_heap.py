"""The collector in a `python -m train` process: paused over the imports, then frozen."""

import gc

import pytest

from train import heap


@pytest.fixture(autouse=True)
def _thawed():
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize("enabled", [True, False])
def test_frozen_after_pauses_then_freezes_and_restores_the_collector(enabled):
    gc.enable() if enabled else gc.disable()
    try:
        with heap.frozen_after():
            assert not gc.isenabled()
            made = [object()]  # something the block made is frozen after it
        assert gc.get_freeze_count() > 0 and gc.isenabled() is enabled
        gc.collect()
        assert made  # frozen objects are simply kept
    finally:
        gc.enable()


def test_frozen_after_restores_the_collector_when_the_block_raises():
    with pytest.raises(RuntimeError), heap.frozen_after():
        raise RuntimeError
    assert gc.isenabled() and gc.get_freeze_count() > 0
