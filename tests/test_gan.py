"""The GAN update's contract: each update touches only its own network, distribution and XLA
change nothing, and the model round-trips through a .keras file."""

import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_gans
from helpers import (FixedNoise, assert_same_training, assert_updates_keep_to_their_networks,
                     changed, fit_single_and_mirrored, random_images, weights)
from keras_gans.networks import build_dcgan_discriminator, build_dcgan_generator

SHAPE = (28, 28, 1)


def small_gan(loss="bce", seed=1, ema_decay=0.999, generator_steps=1):
    generator = build_dcgan_generator(SHAPE, latent_dim=8, filters=8)
    discriminator = build_dcgan_discriminator(SHAPE, filters=8)
    return keras_gans.GAN(generator, discriminator, loss=loss, seed=seed, ema_decay=ema_decay,
                          generator_steps=generator_steps)


def batch(n=8, seed=0):
    return random_images(n, SHAPE, seed)


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge"])
def test_one_step_trains_both_networks_and_reports_metrics(loss):
    gan = small_gan(loss)
    gan.compile()
    g_before, d_before = weights(gan.generator), weights(gan.discriminator)
    logs = gan.train_on_batch(batch(), return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in logs.values())
    assert changed(g_before, gan.generator) and changed(d_before, gan.discriminator)
    assert int(gan.g_optimizer.iterations) == 1 and int(gan.d_optimizer.iterations) == 1


def test_generator_steps_update_the_generator_that_many_times_per_batch():
    gan = small_gan(generator_steps=2)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    once = twin(lambda: small_gan(generator_steps=1), gan)
    once.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    for model in (gan, once):
        model.train_on_batch(batch())
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 1
    # Same start, same noise for the shared first updates: only the extra update separates them.
    assert not changed(weights(once.discriminator), gan.discriminator)
    assert changed(weights(once.generator), gan.generator)
    assert keras_gans.GAN.from_config(gan.get_config()).generator_steps == 2
    with pytest.raises(ValueError, match="generator_steps"):
        small_gan(generator_steps=0)


def test_each_update_touches_only_its_own_network():
    assert_updates_keep_to_their_networks(small_gan, batch())


def test_ema_generator_follows_the_generator():
    gan = small_gan(ema_decay=0.9)
    gan.compile()
    for _ in range(3):
        gan.train_on_batch(batch())
    ema = [v.numpy() for v in gan.ema_generator.variables]
    raw = [v.numpy() for v in gan.generator.variables]
    assert any(not np.allclose(a, b) for a, b in zip(ema, raw))  # an average, not a copy
    assert gan.sampling_generator is gan.ema_generator
    assert gan.generate(5, seed=3).shape == (5,) + SHAPE


def test_generate_is_reproducible_and_in_range():
    gan = small_gan()
    a, b = gan.generate(6, seed=7), gan.generate(6, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -1 and a.max() <= 1


def twin(model_fn, reference):
    """A second model with the same weights (and, by construction, the same noise seed)."""
    other = model_fn()
    other.set_weights(reference.get_weights())
    return other


def run_steps(gan, steps=2, **compile_args):
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1),
                **compile_args)
    for step in range(steps):
        logs = gan.train_on_batch(batch(seed=step), return_dict=True)
    return logs


class FixedNoiseGAN(FixedNoise, keras_gans.GAN):
    pass


def fixed_noise_gan():
    gan = small_gan()
    return FixedNoiseGAN(gan.generator, gan.discriminator, seed=1)


@pytest.mark.parametrize("mode", [{"jit_compile": True}, {"jit_compile": False}])
def test_compiled_steps_agree_with_eager_steps(mode):
    eager = fixed_noise_gan()
    compiled = twin(fixed_noise_gan, eager)
    eager_logs = run_steps(eager, run_eagerly=True)
    compiled_logs = run_steps(compiled, **mode)
    # XLA fuses and reorders float32 sums, and two SGD steps amplify that to ~5e-4 relative on
    # some machines; a wrong update (missed term, wrong sign, stale weights) is off by far more.
    assert_same_training(eager_logs, compiled_logs, eager, compiled, rtol=2e-3, atol=1e-4)


def test_mirrored_step_equals_single_device_step(two_replicas):
    """Two replicas on one global batch give the weights one device gives on the same batch:
    losses are scaled by 1/replicas, BatchNorm statistics are global and each replica takes its
    own slice of the batch's noise."""
    assert two_replicas.num_replicas_in_sync == 2
    single, mirrored, logs = fit_single_and_mirrored(
        lambda: small_gan(ema_decay=0.99), two_replicas,
        lambda gan: gan.compile(g_optimizer=keras.optimizers.SGD(0.5),
                                d_optimizer=keras.optimizers.SGD(0.5)),
        tf.data.Dataset.from_tensor_slices(batch(16)).batch(16))
    assert changed(weights(small_gan().generator), single.generator)
    # The step moves weights by up to ~0.1. Replicas sum in another order than one device, and
    # under a loaded CPU (the full suite beside other jobs) that reached 1.3e-4 in the generator's
    # first layer; a missing 1/replicas, per-replica BatchNorm or shared noise is off by ~0.1.
    assert_same_training(*logs, single, mirrored, atol=5e-4)


def test_replicas_draw_different_noise(two_replicas):
    strategy = two_replicas
    with strategy.scope():
        gan = small_gan()

    @tf.function
    def draw():
        return strategy.run(lambda: gan.sample_latent(4))

    per_replica = strategy.experimental_local_results(draw())
    assert not np.allclose(per_replica[0].numpy(), per_replica[1].numpy())
    single = small_gan()
    np.testing.assert_allclose(np.concatenate([r.numpy() for r in per_replica]),
                               single.sample_latent(8).numpy(), rtol=1e-6)


def test_keras_file_round_trip(tmp_path):
    gan = small_gan(loss="lsgan")
    run_steps(gan, steps=1)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras_gans.GAN) and loaded.loss_name == "lsgan"
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)
    assert int(loaded.g_optimizer.iterations) == 1
    loaded.train_on_batch(batch())  # and it keeps training


def test_a_new_export_at_the_same_path_is_what_sampling_reads(tmp_path):
    """Scoring loads each SavedModel once per process; a re-export must not be served stale."""
    from keras_gans.export import export_generator, images_to_uint8, sample_saved_model

    gan = small_gan(ema_decay=0.0)
    path = str(tmp_path / "generator")
    export_generator(gan, path)
    before = sample_saved_model(path, 4, seed=3)
    assert np.array_equal(sample_saved_model(path, 4, seed=3), before)
    run_steps(gan, steps=2)
    export_generator(gan, path)
    after = sample_saved_model(path, 4, seed=3)
    expected = images_to_uint8(gan.generate(4, seed=3)).numpy()  # the noise sampling draws
    assert not np.array_equal(after, before)
    np.testing.assert_allclose(after.astype(int), expected.astype(int), atol=1)


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_mixed_precision_wraps_each_optimizer_and_keeps_outputs_float32(mixed_precision):
    gan = small_gan()
    gan.compile()
    for optimizer in gan.optimizers.values():
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.g_optimizer is not gan.d_optimizer
    assert gan.generator.outputs[0].dtype == "float32"
    assert gan.discriminator.outputs[0].dtype == "float32"
    logs = gan.train_on_batch(batch(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert gan.generate(2).dtype == np.float32


def test_a_mixed_precision_run_leaves_the_global_policy_as_it_found_it(tmp_path):
    """The dtype policy is global: models a caller builds after a mixed-precision run (say a
    classifier in the same notebook) must be float32 again."""
    from keras_gans.config import TrainConfig
    from keras_gans.run import train

    train(TrainConfig(method="gan", data="digits", image_size=16, batch_size=8, epochs=1,
                      steps_per_epoch=2, mixed_precision=True, output=str(tmp_path / "run")),
          verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert (tmp_path / "run" / "export" / "generator" / "saved_model.pb").exists()
