"""The GAN update's contract: each update touches only its own network, distribution and XLA
change nothing, and the model round-trips through a .keras file."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    FixedNoise,
    assert_same_training,
    assert_updates_keep_to_their_networks,
    changed,
    fit_single_and_mirrored,
    random_images,
    weights,
)

import keras_gans
from keras_gans.methods.base import DISCRIMINATOR, GENERATOR, Player
from keras_gans.networks import build_dcgan_discriminator, build_dcgan_generator
from keras_gans.options import ConfigError

SHAPE = (28, 28, 1)


def small_gan(adversarial_loss="bce", seed=1, ema_decay=0.999, g_steps=1, **options):
    generator = build_dcgan_generator(SHAPE, latent_dim=8, filters=8)
    discriminator = build_dcgan_discriminator(SHAPE, filters=8)
    return keras_gans.GAN(
        generator,
        discriminator,
        adversarial_loss=adversarial_loss,
        seed=seed,
        ema_decay=ema_decay,
        g_steps=g_steps,
        **options,
    )


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


def test_g_steps_update_the_generator_that_many_times_per_batch():
    gan = small_gan(g_steps=2)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    once = twin(lambda: small_gan(g_steps=1), gan)
    once.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    for model in (gan, once):
        model.train_on_batch(batch())
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 1
    # Same start, same noise for the shared first updates: only the extra update separates them.
    assert not changed(weights(once.discriminator), gan.discriminator)
    assert changed(weights(once.generator), gan.generator)
    assert keras_gans.GAN.from_config(gan.get_config()).g_steps == 2
    with pytest.raises(ValueError, match="g_steps"):
        small_gan(g_steps=0)


def test_each_update_touches_only_its_own_network():
    assert_updates_keep_to_their_networks(small_gan, batch())


def mean_pair_gap(gan, n=64):
    images = gan.generator(gan.latent_noise(n, seed=5), training=False)
    return float(keras.ops.mean(keras.ops.abs(images[0::2] - images[1::2])))


def test_the_mode_seeking_term_is_weighted_into_gs_loss_and_spreads_its_images():
    """Weighted 0, 1 and 3 from one start and one noise, g_loss grows by the weight times the
    reported term; and with D frozen, 30 steps at weight 3 leave G's pairs further apart."""
    logs, gaps = {}, {}
    for weight in (0.0, 1.0, 3.0):
        keras.utils.set_random_seed(4)
        gan = small_gan(ema_decay=0.0, mode_seeking=weight)
        gan.compile(g_optimizer=keras.optimizers.Adam(1e-2), d_optimizer=keras.optimizers.SGD(0.0))
        logs[weight] = gan.train_on_batch(batch(), return_dict=True)
        for seed in range(30):
            gan.train_on_batch(batch(seed=seed))
        gaps[weight] = mean_pair_gap(gan)
    assert "mode_seeking" not in logs[0.0] and logs[1.0]["mode_seeking"] > 0
    assert logs[3.0]["g_loss"] - logs[1.0]["g_loss"] == pytest.approx(2 * logs[1.0]["mode_seeking"], rel=1e-4)
    assert logs[1.0]["g_loss"] - logs[0.0]["g_loss"] == pytest.approx(logs[1.0]["mode_seeking"], rel=1e-4)
    assert gaps[3.0] > 1.3 * gaps[0.0], gaps  # measured: 0.19 against 0.12


def test_players_name_each_network_its_optimizer_and_its_side():
    gan = keras_gans.build("dcgan", SHAPE, g_filters=8, d_filters=8, latent_dim=8, g_lr=1e-3, d_lr=3e-4)
    assert gan.players == {
        "g_optimizer": Player(gan.generator, GENERATOR),
        "d_optimizer": Player(gan.discriminator, DISCRIMINATOR),
    }
    assert list(gan.optimizers) == ["g_optimizer", "d_optimizer"]  # the checkpoint order
    # Each side gets its own learning rate.
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(3e-4)
    assert gan.latent_dim == 8 and gan.export_constants() == {}


@pytest.mark.parametrize("keyword", ["n_critic", "loss", "generator_steps", "latent_dim", "class_weight"])
def test_an_undeclared_keyword_is_a_one_line_config_error_naming_it(keyword):
    """Only the declared training options are keywords: old names (n_critic, loss,
    generator_steps), network sizes (latent_dim, read from the generator) and other methods'
    options are refused, never silently dropped."""
    with pytest.raises(ConfigError, match=f"GAN takes no option '{keyword}'") as error:
        keras_gans.GAN(
            build_dcgan_generator(SHAPE, latent_dim=8, filters=8),
            build_dcgan_discriminator(SHAPE, filters=8),
            **{keyword: 1},
        )
    assert "\n" not in str(error.value)


def test_ema_generator_is_the_warmed_up_moving_average_of_the_generator():
    """After generator update t, ema = d * ema + (1 - d) * generator with d = min(ema_decay,
    (1 + t) / (10 + t)): 0.1818 (the warm-up) at t = 1, then ema_decay 0.2 (under 0.25) at t = 2.
    Every variable is averaged, BatchNorm statistics included."""
    gan = small_gan(ema_decay=0.2)
    # Adam at 1e-2 moves every weight by ~1e-2 a step: a wrong decay is then off by far more
    # than the tolerance.
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-2), d_optimizer=keras.optimizers.Adam(1e-2))
    assert not changed(
        weights(gan.generator, trainable=False), gan.ema_generator, trainable=False, exact=True
    )  # it starts as a copy
    for step, decay in ((1, 2 / 11), (2, 0.2)):
        ema_before = weights(gan.ema_generator, trainable=False)
        gan.train_on_batch(batch(seed=step))
        assert int(gan.g_optimizer.iterations) == step
        raw = weights(gan.generator, trainable=False)
        for average, previous, weight in zip(gan.ema_generator.variables, ema_before, raw):
            np.testing.assert_allclose(average.numpy(), decay * previous + (1 - decay) * weight, rtol=1e-5, atol=1e-6)
    assert changed(raw, gan.ema_generator, trainable=False)  # an average, not a copy
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
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1), **compile_args)
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


def test_steps_run_several_per_call_train_exactly_as_one_per_call(tmp_path):
    """What `steps_per_execution` (train.py's default 8) changes is how often Python calls in."""
    data = tf.data.Dataset.from_tensor_slices(batch(40)).batch(8)  # 5 steps: a call of 4, then 1
    one_by_one = small_gan()
    four_at_once = twin(small_gan, one_by_one)
    histories = []
    for gan, steps in ((one_by_one, 1), (four_at_once, 4)):
        gan.compile(
            g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1), steps_per_execution=steps
        )
        histories.append(gan.fit(data, epochs=2, verbose=0).history)
    assert histories[0] == histories[1]
    for a, b in zip(one_by_one.get_weights(), four_at_once.get_weights()):
        np.testing.assert_array_equal(a, b)
    four_at_once.save(tmp_path / "gan.keras")
    assert keras.models.load_model(tmp_path / "gan.keras").steps_per_execution == 4


def test_mirrored_step_equals_single_device_step(two_replicas):
    """Two replicas on one global batch give the weights one device gives on the same batch:
    losses are scaled by 1/replicas, BatchNorm statistics are global and each replica takes its
    own slice of the batch's noise."""
    assert two_replicas.num_replicas_in_sync == 2
    single, mirrored, logs = fit_single_and_mirrored(
        lambda: small_gan(ema_decay=0.99),
        two_replicas,
        lambda gan: gan.compile(g_optimizer=keras.optimizers.SGD(0.5), d_optimizer=keras.optimizers.SGD(0.5)),
        tf.data.Dataset.from_tensor_slices(batch(16)).batch(16),
    )
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
    np.testing.assert_allclose(
        np.concatenate([r.numpy() for r in per_replica]), single.sample_latent(8).numpy(), rtol=1e-6
    )


def test_a_generator_drawing_at_8_serves_clipped_bicubic_resizes_of_its_8x8_images():
    generator = build_dcgan_generator(SHAPE, latent_dim=8, filters=8, draw_size=8)
    drawn = keras.Model(generator.input, generator.get_layer("drawn").output)
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    assert drawn(z).shape == (4, 8, 8, 1)
    expected = np.clip(tf.image.resize(drawn(z), SHAPE[:2], method="bicubic"), -1.0, 1.0)
    np.testing.assert_allclose(generator(z), expected, atol=1e-6)


@pytest.mark.parametrize("size, to", [(8, 28), (7, 32), (16, 8)])
def test_bicubic_resize_is_the_resize_op_built_eagerly_in_a_function_or_compiled_by_xla(size, to):
    images = tf.constant(np.random.default_rng(0).standard_normal((2, size, size, 3)), "float32")
    expected = tf.image.resize(images, (to, to), method="bicubic")
    first_built_in_a_function = keras_gans.networks.layers.BicubicResize(to)
    np.testing.assert_allclose(tf.function(first_built_in_a_function)(images), expected, atol=1e-5)
    np.testing.assert_allclose(first_built_in_a_function(images), expected, atol=1e-5)
    compiled = tf.function(keras_gans.networks.layers.BicubicResize(to), jit_compile=True)
    np.testing.assert_allclose(compiled(images), expected, atol=1e-5)


def test_a_generator_drawing_at_8_round_trips_through_a_keras_file_and_serves_conditional_gans(tmp_path):
    generator = build_dcgan_generator(SHAPE, latent_dim=8, filters=8, draw_size=8)
    generator.save(tmp_path / "g.keras")
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "g.keras")(z), generator(z))
    conditional = keras_gans.networks.build_conditional_generator(SHAPE, 10, latent_dim=8, filters=8, draw_size=8)
    assert conditional([z, np.arange(4)]).shape == (4, *SHAPE)


def test_the_embedded_digits_are_images_a_generator_drawing_at_8_can_serve():
    """The premise of the quick start's draw_size: its data is the 8x8 digits resized as the
    generator resizes its drawings."""
    import sklearn.datasets

    generator = build_dcgan_generator(SHAPE, latent_dim=8, filters=8, draw_size=8)
    resize_and_clip = keras.Sequential(generator.layers[-2:])
    digits8 = sklearn.datasets.load_digits().images[:, :, :, None].astype("float32") / 8.0 - 1.0
    served = keras.ops.convert_to_numpy(resize_and_clip(digits8))
    data = keras_gans.data.load_dataset("digits", 28, batch_size=1797, split="all", shuffle=False)
    np.testing.assert_allclose(served, next(iter(data.dataset)), atol=2.5 / 255)


def test_keras_file_round_trip(tmp_path):
    gan = small_gan(adversarial_loss="lsgan")
    run_steps(gan, steps=1)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras_gans.GAN) and loaded.adversarial_loss == "lsgan"
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


@pytest.fixture(params=["mixed_float16", "mixed_bfloat16"])
def mixed_precision(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


def test_mixed_precision_keeps_weights_and_outputs_float32_and_scales_only_float16_losses(mixed_precision):
    """float16's range needs each optimizer's own loss scale; bfloat16 has float32's, and a loss
    scale would only cost a check of every gradient per step."""
    gan = small_gan()
    gan.compile()
    for optimizer in gan.optimizers.values():
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert scaled == (mixed_precision == "mixed_float16")
    assert gan.g_optimizer is not gan.d_optimizer
    compute = mixed_precision.removeprefix("mixed_")
    assert {layer.compute_dtype for layer in gan.generator.layers} >= {compute, "float32"}
    assert gan.generator.outputs[0].dtype == "float32"
    assert gan.discriminator.outputs[0].dtype == "float32"
    assert {w.dtype for w in gan.weights} == {"float32"}
    before = weights(gan.generator)
    logs = gan.train_on_batch(batch(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert not all(np.array_equal(a, b) for a, b in zip(before, weights(gan.generator)))
    assert gan.generate(2).dtype == np.float32


def test_a_generator_ending_in_bfloat16_trains_with_every_discriminator_constraint():
    """docs/python-api.md asks for a float32 last layer, but a user's generator that ends in
    bfloat16 must still train: augmentation and penalties mix its images with float32 data."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        drawn = build_dcgan_generator(SHAPE, latent_dim=8, filters=8)
        generator = keras.Model(drawn.inputs, keras.layers.Activation("linear")(drawn.outputs[0]))
        assert generator.outputs[0].dtype == "bfloat16"
        gan = keras_gans.GAN(
            generator,
            build_dcgan_discriminator(SHAPE, filters=8, normalization=None),
            adversarial_loss="wasserstein",
            diff_augment="color,translation,cutout",
            gp_weight=10.0,
            r1_gamma=1.0,
        )
        gan.compile()
        logs = gan.train_on_batch(batch(), return_dict=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert {"gp", "r1"} <= set(logs) and all(np.isfinite(v) for v in logs.values()), logs


@pytest.mark.parametrize(
    "method, data, precision, options",
    [
        ("gan", "digits", "mixed_float16", {}),
        ("wgan-gp", "digits", "mixed_bfloat16", {}),
        ("sgan", "digits2digits-m", "mixed_bfloat16", {"lambda_patch": 1.0}),
    ],
)
def test_a_mixed_precision_run_trains_exports_and_leaves_the_global_policy_as_it_found_it(
    tmp_path, method, data, precision, options
):
    """The kinds of step (a gradient penalty's double backward, class logits, CycleGAN's pool,
    cycle losses and PatchGANs) run in bfloat16 to finite losses and an export, and float16 with its loss
    scales; every method ran in bfloat16 once (2026-12-05). The dtype policy is global: models a
    caller builds after the run (say a classifier in the same notebook) must be float32."""
    import csv

    from keras_gans.config import from_values
    from keras_gans.run import train

    run = tmp_path / "run"
    train(
        from_values(
            dict(
                method=method,
                data=data,
                image_size=16,
                batch_size=4,
                epochs=1,
                steps_per_epoch=2,
                precision=precision,
                output=str(run),
                **options,
            )
        ),
        verbose=0,
    )
    assert keras.mixed_precision.global_policy().name == "float32"
    with open(run / "history.csv") as f:
        (epoch,) = list(csv.DictReader(f))
    assert len(epoch) > 4 and all(np.isfinite(float(value)) for value in epoch.values()), epoch
    assert ("d_patch_a" in epoch) == bool(options)
    assert any(run.glob("export/*/saved_model.pb"))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"clip_value": -1.0}, "'clip_value' must be at least 0"),
        ({"gp_weight": -3.0}, "'gp_weight' must be at least 0"),
        ({"d_steps": 2.7}, "'d_steps' must be int"),
        ({"adversarial_loss": "nope"}, "'adversarial_loss' must be one of"),
        ({"n_critic": 5}, "it is now called 'd_steps'"),
    ],
)
def test_the_constructor_checks_options_as_the_config_does(options, message):
    with pytest.raises(ConfigError, match=message):
        small_gan(**options)
