"""cGAN and ACGAN: labels reach both networks, updates keep to their own network, XLA and
MirroredStrategy change nothing, the SavedModel serves (z, label), and a tiny model really learns
to draw the class it is asked for."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    FixedNoise,
    assert_defaults_from_options,
    assert_same_training,
    assert_updates_keep_to_their_networks,
    fit_single_and_mirrored,
    random_images,
    run_main,
)

import keras_gans
from keras_gans import networks
from keras_gans.errors import UsageError

SHAPE = (16, 16, 1)
CLASSES = 10


def small_cgan(d_steps=2, seed=1, cls=keras_gans.ConditionalGAN, **kwargs):
    generator = networks.build_conditional_generator(SHAPE, CLASSES, latent_dim=8, filters=8)
    critic = networks.build_conditional_critic(SHAPE, CLASSES, filters=8)
    return cls(generator, critic, CLASSES, d_steps=d_steps, seed=seed, **kwargs)


def small_acgan(seed=1, cls=keras_gans.ACGAN, **kwargs):
    generator = networks.build_conditional_generator(SHAPE, CLASSES, latent_dim=8, filters=8)
    discriminator = networks.build_acgan_discriminator(SHAPE, CLASSES, filters=8)
    return cls(generator, discriminator, CLASSES, seed=seed, **kwargs)


def batch(n=8, seed=0):
    labels = np.random.default_rng(seed + 1000).integers(0, CLASSES, n).astype("int32")
    return random_images(n, SHAPE, seed), labels


def sgd(lr=0.1):
    return keras.optimizers.SGD(lr)


@pytest.mark.parametrize(
    "make, metrics, d_updates",
    [
        (small_cgan, {"d_loss", "g_loss", "d_real", "d_fake", "wasserstein", "gp"}, 2),
        (small_acgan, {"d_loss", "g_loss", "d_real", "d_fake", "d_class", "g_class"}, 1),
    ],
)
def test_one_step_reports_metrics_and_honours_d_steps(make, metrics, d_updates):
    gan = make()
    gan.compile(run_eagerly=True)  # eager: tracing would cost more than the step
    logs = gan.train_on_batch(*batch(), return_dict=True)
    assert set(logs) == metrics and all(np.isfinite(v) for v in logs.values())
    assert int(gan.d_optimizer.iterations) == d_updates and int(gan.g_optimizer.iterations) == 1


@pytest.mark.parametrize("make", [small_cgan, small_acgan])
def test_each_update_touches_only_its_own_network(make):
    assert_updates_keep_to_their_networks(make, *batch())


def test_bce_is_selectable():
    gan = small_cgan(d_steps=1, gp_weight=0.0, adversarial_loss="bce")
    gan.compile(run_eagerly=True)
    logs = gan.train_on_batch(*batch(), return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0.0 < logs["d_real"] < 1.0  # a probability


def test_unlabelled_batches_and_bad_labels_are_usage_errors():
    gan = small_cgan()
    gan.compile(run_eagerly=True)
    with pytest.raises(UsageError, match="labels"):
        gan.train_on_batch(batch()[0])
    with pytest.raises(UsageError, match="0..9"):
        gan.generate(2, labels=10)
    with pytest.raises(UsageError, match="labelled data"):
        keras_gans.build("cgan", SHAPE)


def test_generate_draws_the_asked_classes_and_previews_one_row_per_class():
    gan = small_cgan()
    threes = gan.generate(4, labels=3, seed=0)
    assert threes.shape == (4,) + SHAPE
    np.testing.assert_allclose(threes, gan.generate(4, labels=[3] * 4, seed=0))
    assert not np.allclose(threes, gan.generate(4, labels=5, seed=0))  # the label matters
    rows = gan.preview_rows(seed=0, columns=5)
    assert rows.shape == (CLASSES, 5) + SHAPE
    np.testing.assert_allclose(rows[3], gan.generate(5, labels=3, seed=0), atol=1e-6)


class FixedNoiseCGAN(FixedNoise, keras_gans.ConditionalGAN):
    pass


class FixedNoiseACGAN(FixedNoise, keras_gans.ACGAN):
    pass


@pytest.mark.parametrize(
    "make", [lambda: small_cgan(cls=FixedNoiseCGAN), lambda: small_acgan(cls=FixedNoiseACGAN)], ids=["cgan", "acgan"]
)
def test_jitted_steps_agree_with_eager_steps(make):
    # A small learning rate: the unit-scale label embeddings make lr 0.1 blow weights up to
    # hundreds, where float32 rounding alone exceeds any useful tolerance.
    eager, jitted = make(), make()
    jitted.set_weights(eager.get_weights())
    logs = []
    for gan, mode in ((eager, {"run_eagerly": True}), (jitted, {"jit_compile": True})):
        gan.compile(g_optimizer=sgd(0.01), d_optimizer=sgd(0.01), **mode)
        for step in range(2):
            step_logs = gan.train_on_batch(*batch(seed=step), return_dict=True)
        logs.append(step_logs)
    assert_same_training(*logs, eager, jitted, rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("make", [small_cgan, small_acgan], ids=["cgan", "acgan"])
def test_mirrored_step_equals_single_device_step(make, two_replicas):
    """Labels are split with their images: the strided critic batches commute with the replica
    split, and each replica's fakes take its own share of the labels and noise."""
    single, mirrored, logs = fit_single_and_mirrored(
        lambda: make(ema_decay=0.99),
        two_replicas,
        lambda gan: gan.compile(g_optimizer=sgd(0.01), d_optimizer=sgd(0.01)),
        tf.data.Dataset.from_tensor_slices(batch(16)).batch(16),
    )
    assert_same_training(*logs, single, mirrored)


def test_keras_file_round_trip(tmp_path):
    gan = small_acgan(class_weight=0.5)
    gan.compile(run_eagerly=True)
    gan.train_on_batch(*batch())
    gan.save(tmp_path / "acgan.keras")
    loaded = keras.models.load_model(tmp_path / "acgan.keras")
    assert isinstance(loaded, keras_gans.ACGAN)
    assert (loaded.num_classes, loaded.class_weight, loaded.adversarial_loss) == (CLASSES, 0.5, "bce")
    np.testing.assert_allclose(loaded.generate(4, labels=2, seed=1), gan.generate(4, labels=2, seed=1), atol=1e-6)


@pytest.mark.parametrize(
    "cls, build_discriminator, settings, adam",
    [
        (
            keras_gans.ConditionalGAN,
            networks.build_conditional_critic,
            ("wasserstein", 5, 1, 0.0, 10.0),
            (1e-4, 0.0, 0.9),
        ),
        (keras_gans.ACGAN, networks.build_acgan_discriminator, ("bce", 1, 1, 0.0, 0.0), (2e-4, 0.5, 0.999)),
    ],
    ids=["cgan", "acgan"],
)
def test_the_classes_defaults_come_from_their_options(cls, build_discriminator, settings, adam):
    """cGAN trains as WGAN-GP and ACGAN as DCGAN (class_weight 1) unless told otherwise; a bare
    `compile()` takes the Options' Adam; the export carries the label range."""
    gan = cls(
        networks.build_conditional_generator(SHAPE, CLASSES, latent_dim=8, filters=8),
        build_discriminator(SHAPE, CLASSES, filters=8),
        CLASSES,
    )
    assert_defaults_from_options(gan)
    assert (gan.adversarial_loss, gan.d_steps, gan.g_steps, gan.clip_value, gan.gp_weight) == settings
    gan.compile()
    for optimizer in gan.optimizers.values():
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert (float(optimizer.learning_rate), optimizer.beta_1, optimizer.beta_2) == pytest.approx(adam)
    assert gan.export_constants() == {"num_classes": CLASSES}


def test_recipes_carry_the_papers_settings():
    for method, data, loss, d_steps, batch_size in (
        ("cgan", "mnist", "wasserstein", 5, 32),
        ("cgan", "cifar10", "wasserstein", 5, 64),
        ("acgan", "mnist", "bce", 1, 64),
        ("acgan", "cifar10", "bce", 1, 64),
    ):
        config = keras_gans.config.resolve({"method": method, "data": data})
        assert (config.options.adversarial_loss, config.options.d_steps, config.batch_size) == (
            loss,
            d_steps,
            batch_size,
        )
    cgan = keras_gans.build("cgan", (32, 32, 3), num_classes=10)
    assert (cgan.d_steps, cgan.gp_weight, cgan.adversarial_loss) == (5, 10.0, "wasserstein")
    assert [tuple(i.shape) for i in cgan.discriminator.inputs] == [(None, 32, 32, 3), (None,)]
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in cgan.discriminator.layers)
    acgan = keras_gans.build("acgan", (28, 28, 1), num_classes=10)
    assert [tuple(o.shape) for o in acgan.discriminator.outputs] == [(None, 1), (None, 10)]


def test_cli_trains_exports_and_draws_one_class(tmp_path, capsys):
    """`--method cgan` end to end: the SavedModel serves (z, label) and `generate --label`
    draws that class."""
    from PIL import Image

    from keras_gans.export import sample_saved_model

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        "method: cgan\ndata: digits\nimage_size: 16\nlatent_dim: 8\ng_filters: 8\n"
        "d_filters: 8\nbatch_size: 8\nd_steps: 2\n"
    )
    run = tmp_path / "run"
    result = run_main(capsys, "--config", str(recipe), "--epochs", "1", "--steps-per-epoch", "2", "--output", str(run))
    assert result.returncode == 0, result.stderr[-2000:]
    served = tf.saved_model.load(str(run / "export" / "generator")).signatures["serving_default"]
    inputs = served.structured_input_signature[1]
    assert (inputs["z"].dtype, inputs["label"].dtype) == (tf.float32, tf.int32)
    images = served(z=tf.zeros((3, 8)), label=tf.constant([0, 1, 2]))["images"]
    assert images.dtype == tf.uint8 and tuple(images.shape) == (3, 16, 16, 1)
    fours = sample_saved_model(str(run), 3, labels=[4, 4, 4])
    again = served(
        z=tf.constant(np.random.default_rng(0).standard_normal((3, 8)), tf.float32), label=tf.constant([4, 4, 4])
    )["images"].numpy()
    np.testing.assert_array_equal(fours, again)

    result = run_main(
        capsys, "generate", "--model", str(run), "--label", "3", "-n", "4", "--out", str(tmp_path / "threes.png")
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(tmp_path / "threes.png").size == (2 * (64 + 2) - 2,) * 2  # 16 px upscaled 4 times

    result = run_main(capsys, "generate", "--model", str(run), "--label", "10", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == ["error: labels must lie in 0..9, got 10..10"]
    assert not (tmp_path / "x.png").exists()

    result = run_main(capsys, "evaluate", "--model", str(run), "-n", "200")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "samples drawn per class: label kept" in result.stdout, result.stdout


def test_cgan_on_unlabelled_data_is_a_one_line_error(tmp_path, capsys):
    from PIL import Image

    from keras_gans.cli import main

    for i in range(4):
        Image.new("RGB", (16, 16), (i * 60, 0, 0)).save(tmp_path / f"{i}.png")
    status = main(
        [
            "train",
            "--method",
            "cgan",
            "--data",
            f"folder:{tmp_path}",
            "--epochs",
            "1",
            "--output",
            str(tmp_path / "run"),
        ]
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "has no labels" in lines[0], lines


# --- learning ---------------------------------------------------------------------------------


def small_conditional(method):
    """A small recipe-built cGAN or ACGAN for the learning tests, seeded."""
    keras.utils.set_random_seed(0)
    return keras_gans.build(
        method, SHAPE, num_classes=CLASSES, latent_dim=32, g_filters=16, d_filters=16, seed=0, ema_decay=0.99
    )


def label_accuracy(gan, classifier, n=500):
    """Share of samples drawn for class k (classes in turn) that the classifier reads as k."""
    labels = np.arange(n) % CLASSES
    predicted = classifier.predict(gan.generate(n, labels=labels, seed=1), verbose=0).argmax(1)
    return np.mean(predicted == labels)


def test_a_tiny_conditional_gan_draws_the_asked_digit(digits_judge):
    """Trained briefly on the digits, samples asked for class k are classified as k far above
    the 10% of chance; an untrained generator stays near chance, so the check can fail."""
    from keras_gans.data import load_dataset

    judge = digits_judge(16, 1)
    gan = small_conditional("acgan")
    before = label_accuracy(gan, judge)
    data = load_dataset("digits", 16, batch_size=64, with_labels=True, seed=0)
    gan.fit(data.dataset, epochs=10, verbose=0)
    after = label_accuracy(gan, judge)
    assert before < 0.3 and after > 0.7, (before, after)


def test_a_small_wgan_gp_conditional_gan_draws_the_asked_digit(digits_judge):
    """The cGAN recipe (WGAN-GP critic with a label channel, 5 critic updates per generator
    update) learns the classes from the digits in a few hundred generator updates."""
    from keras_gans.data import load_dataset

    judge = digits_judge(16, 1)
    gan = small_conditional("cgan")
    before = label_accuracy(gan, judge)
    data = load_dataset("digits", 16, batch_size=32 * gan.d_steps, with_labels=True, seed=0)
    history = gan.fit(data.dataset.repeat(), steps_per_epoch=100, epochs=3, verbose=0).history
    after = label_accuracy(gan, judge)
    print(
        f"cGAN label accuracy: untrained {before:.1%}, trained {after:.1%}; "
        f"Wasserstein estimate {history['wasserstein']}"
    )
    assert before < 0.3 and after > 0.5, (before, after)  # measured 70% (seed 0)
