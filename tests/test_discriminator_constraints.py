"""The remedies for poor mode coverage, each against what its paper says it does: spectral
normalisation, the R1 penalty, minibatch standard deviation and differentiable augmentation;
and, with all of them on, the loop's invariants (each update keeps to its network, a mirrored
step equals one device's, the state is checkpointed and round-trips)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    assert_same_training,
    assert_updates_keep_to_their_networks,
    changed,
    fit_single_and_mirrored,
    random_images,
    weights,
)

import keras_gans
from keras_gans import losses
from keras_gans.checkpoint import _state_variables
from keras_gans.methods.constraints import DifferentiableAugmentation, DiscriminatorConstraint, R1Penalty
from keras_gans.networks import build_dcgan_discriminator, build_dcgan_generator
from keras_gans.networks.layers import MinibatchStandardDeviation

SHAPE = (16, 16, 1)
EVERY_REMEDY = dict(spectral_norm=True, r1_gamma=1.0, diff_augment="color,translation,cutout")


def remedied_gan(minibatch_std=4, seed=1, **options):
    keras.utils.set_random_seed(seed)  # the same networks for every call
    generator = build_dcgan_generator(SHAPE, latent_dim=8, filters=8)
    discriminator = build_dcgan_discriminator(SHAPE, filters=8, normalization=None, minibatch_std_group=minibatch_std)
    return keras_gans.GAN(generator, discriminator, seed=seed, ema_decay=0.0, **{**EVERY_REMEDY, **options})


def largest_singular_values(network):
    return [
        np.linalg.svd(v.numpy().reshape(-1, v.shape[-1]), compute_uv=False)[0]
        for v in network.trainable_variables
        if len(v.shape) >= 2
    ]


def test_spectral_normalisation_keeps_every_kernel_at_unit_spectral_norm():
    gan = remedied_gan(r1_gamma=0.0, diff_augment="")
    assert len(largest_singular_values(gan.discriminator)) == 3  # two convolutions and the logit
    np.testing.assert_allclose(largest_singular_values(gan.discriminator), 1.0, rtol=1e-2)  # from the start
    # Steps of about the size of the weights (init N(0, 0.02)): each update is divided back.
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.Adam(1e-2))
    for seed in range(10):
        gan.train_on_batch(random_images(8, SHAPE, seed))
        np.testing.assert_allclose(largest_singular_values(gan.discriminator), 1.0, rtol=5e-2)


def test_r1_is_the_squared_norm_of_a_linear_discriminators_weights():
    """For D(x) = w.x + b, grad D(x) = w at every x: R1 = |w|^2, whatever the images."""
    discriminator = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(1)])
    w = discriminator.layers[-1].kernel.numpy()
    real = tf.constant(random_images(5, SHAPE, 0))
    assert float(losses.r1_penalty(discriminator, real)) == pytest.approx(float(np.sum(w**2)), rel=1e-5)
    assert R1Penalty(gamma=10.0).weight == 5.0  # Mescheder et al. weigh it gamma / 2


def test_r1_is_reported_and_added_to_the_discriminators_loss_at_gamma_over_two():
    """The same batch with and without R1 at lr 0: the losses differ by exactly gamma/2 * r1
    (a large gamma, so the term stands well above float32's resolution of a loss near 1.4)."""
    logs = {}
    for gamma in (0.0, 1000.0):
        gan = remedied_gan(spectral_norm=False, diff_augment="", r1_gamma=gamma, minibatch_std=0)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
        logs[gamma] = gan.train_on_batch(random_images(8, SHAPE, 0), return_dict=True)
    assert "r1" not in logs[0.0] and logs[1000.0]["r1"] > 0
    assert logs[1000.0]["d_loss"] - logs[0.0]["d_loss"] == pytest.approx(500.0 * logs[1000.0]["r1"], rel=1e-4)


@pytest.mark.parametrize("features", [(4, 4, 3), (48,)], ids=["convolutional", "mlp"])
def test_minibatch_std_adds_one_channel_that_grows_with_its_groups_spread(features):
    layer = MinibatchStandardDeviation(group_size=4)
    same = np.repeat(random_images(1, (4, 4, 3), 0).reshape((1,) + features), 8, axis=0)
    varied = random_images(8, (4, 4, 3), 1).reshape((8,) + features)
    out_same, out_varied = (keras.ops.convert_to_numpy(layer(x)) for x in (same, varied))
    assert out_same.shape == (8,) + features[:-1] + (features[-1] + 1,)
    np.testing.assert_array_equal(out_same[..., :-1], same)  # the features pass through
    assert np.all(out_same[..., -1] < 1e-3) and np.all(out_varied[..., -1] > 0.1)
    # Groups are contiguous runs of four: changing image 0 changes the channel of images 0-3 only.
    moved = varied.copy()
    moved[0] = -moved[0]
    out_moved = keras.ops.convert_to_numpy(layer(moved))
    assert not np.allclose(out_moved[:4, ..., -1], out_varied[:4, ..., -1])
    np.testing.assert_array_equal(out_moved[4:, ..., -1], out_varied[4:, ..., -1])
    # A batch the group does not divide uses the largest group that does (6: groups of two).
    assert keras.ops.convert_to_numpy(layer(varied[:6])).shape == (6,) + out_same.shape[1:]


def test_the_mlp_discriminators_last_layer_reads_the_minibatch_spread():
    discriminator = keras_gans.networks.build_mlp_discriminator(SHAPE, minibatch_std_group=4)
    assert discriminator.layers[-2].kernel.shape == (256 + 1, 1)


def fixed_draw(values):
    """A `draw(n, shape)` that returns `values` for every sample."""
    return lambda n, shape: tf.broadcast_to(tf.constant(values, tf.float32), (n,) + shape)


def test_translation_moves_whole_pixels_and_fills_with_zeros():
    image = np.zeros((1, 16, 16, 1), "float32")
    image[0, 5, 7, 0] = 1.0
    # Shifts of up to 2 pixels (16 / 8) each way: a draw of 0 is -2, of 0.99 is +2.
    down_left = keras.ops.convert_to_numpy(DifferentiableAugmentation.translation(image, fixed_draw([0.99, 0.0])))
    assert down_left[0, 7, 5, 0] == 1.0 and down_left.sum() == 1.0
    edge = np.ones((1, 16, 16, 1), "float32")
    shifted = keras.ops.convert_to_numpy(DifferentiableAugmentation.translation(edge, fixed_draw([0.99, 0.99])))
    assert shifted[0, :2].sum() == 0 and shifted[0, :, :2].sum() == 0 and shifted[0, 2:, 2:].min() == 1.0


def test_cutout_zeroes_a_square_of_half_the_size_and_passes_gradients_elsewhere():
    images = tf.constant(np.ones((3, 16, 16, 1), "float32"))
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = DifferentiableAugmentation.cutout(images, fixed_draw([0.3, 0.6]))
        total = tf.reduce_sum(out)
    gradient = tape.gradient(total, images).numpy()
    assert np.all((out.numpy() == 0).sum(axis=(1, 2, 3)) == 8 * 8)
    np.testing.assert_array_equal(gradient, out.numpy())  # 1 where the image shows, 0 in the hole


def test_color_changes_brightness_and_contrast_and_keeps_the_shape():
    images = random_images(4, (8, 8, 3), 0)
    middle = keras.ops.convert_to_numpy(DifferentiableAugmentation.color(images, fixed_draw([0.5, 0.5, 0.5])))
    np.testing.assert_allclose(middle, images, atol=1e-6)  # the draws' midpoints change nothing
    brighter = keras.ops.convert_to_numpy(DifferentiableAugmentation.color(images, fixed_draw([0.9, 0.5, 0.5])))
    np.testing.assert_allclose(brighter, images + 0.4, atol=1e-5)


def test_a_bad_augmentation_policy_names_the_choices():
    with pytest.raises(keras_gans.options.ConfigError, match="names no augmentation 'flip'; choose from color"):
        remedied_gan(diff_augment="color,flip")


def test_with_every_remedy_each_update_touches_only_its_own_network():
    assert_updates_keep_to_their_networks(remedied_gan, random_images(8, SHAPE, 0))


class Blindfold(DiscriminatorConstraint):
    """A transform that hides every image: a discriminator that sees only it sees zeros."""

    def transform(self, images, draw):
        return images * 0.0


def test_transforms_reach_what_the_discriminator_sees_on_both_sides():
    """With D shown only zeros, D(real) = D(fake) in D's update, and G's loss is -log D(0):
    the transform applies to real and fake batches and to the generator's update alike."""
    gan = remedied_gan(spectral_norm=False, r1_gamma=0.0, diff_augment="", minibatch_std=0)
    gan.constraints.append(Blindfold())
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    logs = gan.train_on_batch(random_images(8, SHAPE, 0), return_dict=True)
    seen = float(keras.ops.sigmoid(gan.discriminator(np.zeros((1,) + SHAPE, "float32")))[0, 0])
    assert logs["d_real"] == pytest.approx(seen, rel=1e-5) and logs["d_fake"] == pytest.approx(seen, rel=1e-5)
    assert logs["g_loss"] == pytest.approx(-np.log(seen), rel=1e-5)


def test_with_every_remedy_a_mirrored_step_equals_the_single_device_step(two_replicas):
    single, mirrored, logs = fit_single_and_mirrored(
        remedied_gan,
        two_replicas,
        lambda gan: gan.compile(g_optimizer=keras.optimizers.SGD(0.5), d_optimizer=keras.optimizers.SGD(0.5)),
        tf.data.Dataset.from_tensor_slices(random_images(16, SHAPE, 0)).batch(16),
    )
    assert changed(weights(remedied_gan().generator), single.generator)
    assert_same_training(*logs, single, mirrored, atol=5e-4)


def test_spectral_norms_vectors_are_checkpointed_and_round_trip(tmp_path):
    gan = remedied_gan()
    gan.compile()
    gan.train_on_batch(random_images(8, SHAPE, 0))
    held = {id(v) for _, v in _state_variables(gan)}
    assert gan.constraint_variables and all(id(v) in held for v in gan.constraint_variables)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert {key: getattr(loaded, key) for key in EVERY_REMEDY} == EVERY_REMEDY
    for a, b in zip(gan.constraint_variables, loaded.constraint_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
