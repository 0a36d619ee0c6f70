"""Training-state files: complete or absent, restored exactly, refused when they do not fit."""

import numpy as np
import pytest
from helpers import changed, weights

import keras_gans
from keras_gans.checkpoint import CheckpointError, latest_checkpoint, restore_training_state, save_training_state
from keras_gans.networks import build_dcgan_discriminator, build_dcgan_generator


def tiny_gan(filters=8):
    shape = (28, 28, 1)
    gan = keras_gans.GAN(
        build_dcgan_generator(shape, latent_dim=4, filters=filters),
        build_dcgan_discriminator(shape, filters=filters),
        seed=3,
    )
    gan.compile()
    return gan


def trained_gan():
    gan = tiny_gan()
    gan.train_on_batch(np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    return gan


def test_round_trip_restores_weights_optimizers_seed_and_epoch(tmp_path):
    gan = trained_gan()
    save_training_state(gan, tmp_path, epoch=7)
    fresh = tiny_gan()
    assert restore_training_state(fresh, tmp_path) == 7
    for a, b in zip(gan.variables, fresh.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for name in ("g_optimizer", "d_optimizer"):
        assert int(fresh.optimizers[name].iterations) == 1
        for a, b in zip(gan.optimizers[name].variables, fresh.optimizers[name].variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), fresh.seed_generator.state.numpy())


def test_previous_checkpoint_is_kept_and_used_when_latest_is_damaged(tmp_path):
    gan = trained_gan()
    save_training_state(gan, tmp_path, epoch=1)
    save_training_state(gan, tmp_path, epoch=2)
    assert (tmp_path / "previous.npz").exists()
    (tmp_path / "latest.npz").write_bytes(b"truncated by a power cut")
    assert restore_training_state(tiny_gan(), tmp_path) == 1
    assert not list(tmp_path.glob(".tmp-*")), "temporary files left behind"


def test_a_checkpoint_of_another_model_is_refused_without_changing_anything(tmp_path):
    save_training_state(trained_gan(), tmp_path, epoch=1)
    other = tiny_gan(filters=16)
    before = weights(other, trainable=False)
    with pytest.raises(CheckpointError, match="same config"):
        restore_training_state(other, tmp_path)
    assert not changed(before, other, trainable=False, exact=True)


def test_missing_checkpoint(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    with pytest.raises(CheckpointError, match="no checkpoint"):
        restore_training_state(tiny_gan(), tmp_path)
