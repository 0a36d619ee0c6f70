"""Self-conditioning (`clusters`): k-means finds the data's groups, real images take their nearest
centre, the noise draws each cluster in its share of the data, and the clusters live in the
model's state: checkpointed, resumed without clustering again, served by an unconditional
SavedModel. Each update keeps to its network, and mirrored and compiled steps equal the plain one,
with the mode-seeking term on, whose pairs of fakes share a label."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    FixedNoise,
    assert_same_training,
    assert_updates_keep_to_their_networks,
    fit_single_and_mirrored,
    random_images,
    run_main,
)

import keras_gans
from keras_gans.checkpoint import read_checkpoint
from keras_gans.data.core import DataError
from keras_gans.errors import UsageError
from keras_gans.methods.self_conditioned import SelfConditionedGAN, clusters_of_noise, kmeans

SHAPE = (16, 16, 1)
CLUSTERS = 3


def small_gan(seed=1, **options):
    return keras_gans.build(
        "dcgan", SHAPE, clusters=CLUSTERS, latent_dim=8, g_filters=8, d_filters=8, seed=seed, **options
    )


def clustered(gan, seed=0):
    gan.cluster(random_images(30, SHAPE, seed))
    return gan


def sgd(lr=0.1):
    return keras.optimizers.SGD(lr)


def test_kmeans_finds_separated_groups_and_their_sizes():
    rng = np.random.default_rng(0)
    means = np.array([[0.0] * 5, [10.0] * 5, [-10.0] * 5])
    sizes = [30, 50, 20]
    points = np.concatenate([m + rng.normal(size=(n, 5)) for m, n in zip(means, sizes)])
    centres, found = kmeans(rng.permutation(points), 3, seed=0)
    order = np.argsort(centres[:, 0])  # -10, 0, 10
    np.testing.assert_allclose(centres[order], means[[2, 0, 1]], atol=0.5)
    assert found[order].tolist() == [20, 30, 50]
    with pytest.raises(DataError, match="at least 3 images"):
        kmeans(points[:2], 3)


def test_real_images_take_their_nearest_centre():
    gan = small_gan()
    levels = np.array([-0.8, 0.0, 0.8], "float32")
    gan.centres.assign(np.repeat(levels[:, None], 256, axis=1))
    images = np.stack([np.full(SHAPE, v, "float32") for v in (0.7, -0.5, 0.1, -1.0, 0.5)])
    _, labels = gan.split_batch(images)
    assert keras.ops.convert_to_numpy(labels).tolist() == [2, 0, 1, 0, 2]


def test_the_noise_draws_each_cluster_in_its_share():
    gan = small_gan()
    gan.shares.assign([0.1, 0.6, 0.3])
    z = gan.latent_noise(20_000, seed=0)
    picked = clusters_of_noise(tf.constant(z), gan.shares).numpy()
    np.testing.assert_allclose(np.bincount(picked, minlength=3) / len(z), [0.1, 0.6, 0.3], atol=0.01)
    # generate() draws what the noise picks: the same images as asking for those clusters
    np.testing.assert_array_equal(gan.generate_from_latent(z[:6]), gan.generate_from_latent(z[:6], picked[:6]))


def test_fit_clusters_its_data_once_and_refuses_a_stream_it_cannot_read_whole():
    gan = small_gan()
    gan.compile(run_eagerly=True)
    images = random_images(24, SHAPE, 0)
    gan.fit(images, batch_size=8, epochs=1, verbose=0)
    centres, expected = gan.centres.numpy(), kmeans(images, CLUSTERS, seed=1)
    np.testing.assert_allclose(centres, expected[0], atol=1e-6)
    np.testing.assert_allclose(gan.shares.numpy(), expected[1] / 24, atol=1e-6)
    gan.fit(random_images(24, SHAPE, 5), batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(gan.centres.numpy(), centres)  # set once, as a resumed run keeps them

    endless = tf.data.Dataset.from_tensor_slices(images).batch(8).repeat()
    with pytest.raises(UsageError, match="never ends; call model.cluster"):
        small_gan().fit(endless, steps_per_epoch=1, epochs=1, verbose=0)
    wrong = small_gan()  # data fit refuses is refused before it is clustered
    with pytest.raises(DataError, match="16x16x1"):
        wrong.fit(random_images(24, (8, 8, 1), 0), batch_size=8, epochs=1, verbose=0)
    assert not wrong.clustered


def test_each_update_touches_only_its_own_network():
    assert_updates_keep_to_their_networks(lambda: clustered(small_gan(mode_seeking=1.0)), random_images(8, SHAPE, 3))


def test_with_mode_seeking_the_generators_pairs_of_fakes_share_a_label():
    """Mao et al. compare two noises' images of one label: G's labels are the real batch's
    even rows, each twice."""
    gan = clustered(small_gan(mode_seeking=1.0))
    gan.compile(run_eagerly=True)
    drawn = []
    draw_for = gan.generator_inputs
    gan.generator_inputs = lambda z, labels: drawn.append(np.asarray(labels)) or draw_for(z, labels)
    gan.train_on_batch(random_images(8, SHAPE, 4))
    real_labels, generator_labels = drawn  # D's update, then G's
    assert len(set(real_labels[::2])) > 1
    np.testing.assert_array_equal(generator_labels, np.repeat(real_labels[::2], 2))


class FixedNoiseSelfConditioned(FixedNoise, SelfConditionedGAN):
    pass


def test_jitted_steps_agree_with_eager_steps():
    def make():
        gan = small_gan(mode_seeking=1.0)
        fixed = FixedNoiseSelfConditioned.from_config(gan.get_config())
        fixed.set_weights(gan.get_weights())
        return clustered(fixed)

    eager, jitted = make(), make()
    jitted.set_weights(eager.get_weights())
    logs = []
    for gan, mode in ((eager, {"run_eagerly": True}), (jitted, {"jit_compile": True})):
        gan.compile(g_optimizer=sgd(0.01), d_optimizer=sgd(0.01), **mode)
        for step in range(2):
            step_logs = gan.train_on_batch(random_images(8, SHAPE, step), return_dict=True)
        logs.append(step_logs)
    assert_same_training(*logs, eager, jitted, rtol=2e-3, atol=1e-4)


def test_mirrored_step_equals_single_device_step(two_replicas):
    single, mirrored, logs = fit_single_and_mirrored(
        lambda: clustered(small_gan(ema_decay=0.99, mode_seeking=1.0)),
        two_replicas,
        lambda gan: gan.compile(g_optimizer=sgd(0.01), d_optimizer=sgd(0.01)),
        tf.data.Dataset.from_tensor_slices(random_images(16, SHAPE, 2)).batch(16),
    )
    assert_same_training(*logs, single, mirrored)


def test_a_clipped_critic_clips_its_cluster_embedding_too():
    """The wgan_mnist recipe clusters: the critic's embedding of the cluster label, which starts
    far outside the clip, is a critic weight like the others."""
    gan = clustered(
        keras_gans.build(
            "wgan", SHAPE, clusters=CLUSTERS, latent_dim=8, g_filters=8, d_filters=8, d_steps=1, clip_value=0.01, seed=1
        )
    )
    gan.compile(g_optimizer=sgd(), d_optimizer=sgd(10.0), run_eagerly=True)
    embeddings = [v for v in gan.discriminator.trainable_variables if "embedding" in v.path]
    assert len(embeddings) == 1 and np.abs(embeddings[0].numpy()).max() > 1
    gan.train_on_batch(random_images(8, SHAPE, 1))
    largest = [np.abs(v.numpy()).max() for v in gan.discriminator.trainable_variables]
    assert max(largest) <= 0.01 + 1e-7
    assert np.abs(embeddings[0].numpy()).max() == pytest.approx(0.01, rel=1e-6)


def test_keras_file_round_trip_keeps_the_clusters(tmp_path):
    gan = clustered(small_gan(adversarial_loss="hinge"))
    gan.compile(run_eagerly=True)
    gan.train_on_batch(random_images(8, SHAPE, 1))
    gan.save(tmp_path / "scgan.keras")
    loaded = keras.models.load_model(tmp_path / "scgan.keras")
    assert isinstance(loaded, SelfConditionedGAN)
    assert (loaded.num_classes, loaded.adversarial_loss) == (CLUSTERS, "hinge")
    np.testing.assert_array_equal(loaded.centres.numpy(), gan.centres.numpy())
    np.testing.assert_allclose(loaded.generate(5, seed=1), gan.generate(5, seed=1), atol=1e-6)


def test_clusters_are_refused_where_they_cannot_apply():
    with pytest.raises(UsageError, match="clusters needs the dcgan networks"):
        keras_gans.build("gan", SHAPE, clusters=3)
    with pytest.raises(UsageError, match="clusters"):
        keras_gans.build("cgan", SHAPE, num_classes=10, clusters=3)


TINY = ["--data", "digits", "--image-size", "16", "--latent-dim", "8", "--g-filters", "8", "--d-filters", "8"]
TINY += ["--batch-size", "16", "--steps-per-epoch", "3", "--clusters", "4"]


def test_a_resumed_run_keeps_its_clusters_and_ends_as_the_uninterrupted_one(tmp_path, capsys):
    """The command line clusters before the first epoch from a pipeline of its own; a resumed
    run restores the clusters and draws the batches the uninterrupted run drew. The export is
    an unconditional generator of z."""
    from keras_gans.export import sample_saved_model

    whole, halves = tmp_path / "whole", tmp_path / "halves"
    for args in (["--epochs", "2", "--output", str(whole)], ["--epochs", "1", "--output", str(halves)]):
        result = run_main(capsys, "--method", "dcgan", *TINY, *args)
        assert result.returncode == 0 and "clustered 1438 images into groups of" in result.stdout, result.stdout
    result = run_main(capsys, "--method", "dcgan", *TINY, "--epochs", "2", "--output", str(halves), "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    a, b = (read_checkpoint(run / "checkpoints" / "latest.npz") for run in (whole, halves))
    assert sorted(a) == sorted(b)
    different = [key for key in a if not np.array_equal(a[key], b[key])]
    assert not different, f"{len(different)} arrays differ, first {different[:3]}"

    served = tf.saved_model.load(str(whole / "export" / "generator")).signatures["serving_default"]
    assert list(served.structured_input_signature[1]) == ["z"]
    assert sample_saved_model(str(whole), 5).shape == (5, 16, 16, 1)

    result = run_main(capsys, "--method", "gan", *TINY, "--epochs", "1", "--output", str(tmp_path / "mlp"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "clusters needs the dcgan networks" in result.stderr
