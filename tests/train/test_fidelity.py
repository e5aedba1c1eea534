"""The default loop is the homework starter's: same shuffle, same batches, same averages."""

import dataclasses

import numpy as np
import pytest

from train.config import TrainConfig
from train.data.order import starter_permutations
from train.loop import train_model


def _cfg(**kw):
    base = TrainConfig(model="PoolUpsampleNet", epochs=3, batch_size=4, num_filters=4)
    return dataclasses.replace(base, device="cpu", **kw)


@pytest.mark.parametrize("seed", [0, 3])
def test_permutations_are_npr_shuffle_of_the_images_after_npr_seed(seed):
    # The starter: npr.seed(seed); process(train) shuffles the horse images; process(test) next.
    np.random.seed(seed)
    train_images = np.arange(17 * 2, dtype=float).reshape(17, 2) * 3.0
    test_images = np.arange(5 * 4, dtype=float).reshape(5, 2, 2)
    shuffled_train, shuffled_test = train_images.copy(), test_images.copy()
    np.random.shuffle(shuffled_train)
    np.random.shuffle(shuffled_test)
    p_tr, p_te = starter_permutations(17, 5, seed)
    np.testing.assert_array_equal(train_images[p_tr], shuffled_train)
    np.testing.assert_array_equal(test_images[p_te], shuffled_test)


@pytest.mark.parametrize("model", ["PoolUpsampleNet", "ConvTransposeNet", "UNet"])
def test_default_loop_equals_the_starter_loop(tiny_data, tmp_path, model, starter):
    # 10 training images at batch 4: steps of 4, 4, 2, so a pixel average would differ from
    # the starter's mean of step losses; 2 test images at batch 4 are one short batch.
    ours = train_model(_cfg(model=model, channels_last=False), tiny_data, tmp_path).metrics
    ref = starter.run(_cfg(model=model), tiny_data)
    for a, b in zip(ours, ref, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=2e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=2e-5)
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=1e-9)
    # the step-mean average is a different number from the pixel average here
    assert abs(ours[0]["train_loss"] - ours[0]["train_loss_pixel"]) > 1e-6


def test_channels_last_changes_only_rounding(tiny_data, tmp_path):
    nhwc = train_model(_cfg(), tiny_data, tmp_path / "a").metrics
    nchw = train_model(_cfg(channels_last=False), tiny_data, tmp_path / "b").metrics
    for a, b in zip(nhwc, nchw, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)


def test_shuffle_epoch_is_another_order(tiny_data, tmp_path):
    once = train_model(_cfg(), tiny_data, tmp_path / "once").metrics
    epoch = train_model(_cfg(shuffle="epoch"), tiny_data, tmp_path / "epoch").metrics
    assert once[0]["train_loss"] != pytest.approx(epoch[0]["train_loss"], abs=1e-6)
    again = train_model(_cfg(shuffle="epoch"), tiny_data, tmp_path / "again").metrics
    assert [r["train_loss"] for r in again] == [r["train_loss"] for r in epoch]
