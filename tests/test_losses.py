"""Losses against values computed by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_gans import losses


def _np(x):
    return float(np.asarray(x))


def test_bce_matches_hand_computation():
    real, fake = np.array([2.0, -1.0]), np.array([0.5, -3.0])
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    # -log sigmoid(x) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x)
    expected_d = np.mean([softplus(-2.0), softplus(1.0)]) + np.mean([softplus(0.5), softplus(-3.0)])
    assert _np(losses.bce_discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    expected_g = np.mean([softplus(-0.5), softplus(3.0)])
    assert _np(losses.bce_generator_loss(fake)) == pytest.approx(expected_g, rel=1e-6)


def test_bce_is_finite_for_extreme_logits():
    value = losses.bce_discriminator_loss(np.array([1e4, -1e4]), np.array([-1e4, 1e4]))
    assert np.isfinite(_np(value))


def test_least_squares_losses():
    real, fake = np.array([1.0, 0.0]), np.array([0.5, 2.0])
    assert _np(losses.lsgan_discriminator_loss(real, fake)) == pytest.approx(
        0.5 * np.mean([0.0, 1.0]) + 0.5 * np.mean([0.25, 4.0])
    )
    assert _np(losses.lsgan_generator_loss(fake)) == pytest.approx(0.5 * np.mean([0.25, 1.0]))


def test_hinge_and_wasserstein_losses():
    real, fake = np.array([0.5, 2.0]), np.array([-2.0, 0.0])
    assert _np(losses.hinge_discriminator_loss(real, fake)) == pytest.approx(np.mean([0.5, 0.0]) + np.mean([0.0, 1.0]))
    assert _np(losses.hinge_generator_loss(fake)) == pytest.approx(1.0)
    assert _np(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(-1.0 - 1.25)
    assert _np(losses.wasserstein_generator_loss(fake)) == pytest.approx(1.0)


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="bce"):
        losses.get_adversarial_loss("nope")


def test_gradient_penalty_of_a_linear_critic_is_analytic():
    # f(x) = <w, x>: the gradient is w everywhere, so the penalty is (||w|| - 1)^2 exactly.
    w = tf.constant(np.arange(1, 13, dtype="float32").reshape(1, 2, 2, 3) / 10.0)

    def critic(x):  # one argument: the penalty calls critic(images)
        return tf.reduce_sum(x * w, axis=(1, 2, 3))

    real = tf.random.normal((5, 2, 2, 3))
    fake = tf.random.normal((5, 2, 2, 3))
    penalty = losses.gradient_penalty(critic, real, fake, tf.random.uniform((5,)))
    expected = (np.linalg.norm(w.numpy()) - 1.0) ** 2
    assert _np(penalty) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_takes_bfloat16_fakes_beside_float32_data():
    """A user's generator whose last layer computes in bfloat16 (a mixed policy) against float32
    data: the penalty is taken, as for float32 fakes up to bfloat16's rounding of them."""
    w = tf.constant(np.arange(1, 13, dtype="float32").reshape(1, 2, 2, 3) / 10.0)

    def critic(x):
        return 0.5 * tf.reduce_sum(tf.square(x * w), axis=(1, 2, 3))

    real, fake = tf.random.normal((5, 2, 2, 3), seed=1), tf.random.normal((5, 2, 2, 3), seed=2)
    epsilon = tf.random.uniform((5,), seed=3)
    rounded = tf.cast(tf.cast(fake, "bfloat16"), "float32")
    penalty = losses.gradient_penalty(critic, real, tf.cast(fake, "bfloat16"), epsilon)
    assert _np(penalty) == pytest.approx(_np(losses.gradient_penalty(critic, real, rounded, epsilon)), rel=1e-6)


def test_gradient_penalty_is_taken_at_eps_real_plus_one_minus_eps_fake():
    # f(x) = ||x||^2 / 2: the gradient at x_hat is x_hat itself, so the penalty reveals where
    # each sample was interpolated (epsilon toward the real image).
    def critic(x):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=(1, 2, 3))

    rng = np.random.default_rng(0)
    real, fake = (rng.normal(size=(4, 3, 3, 2)).astype("float32") for _ in range(2))
    epsilon = np.array([0.0, 0.25, 0.5, 1.0], "float32")
    x_hat = epsilon[:, None, None, None] * real + (1 - epsilon[:, None, None, None]) * fake
    expected = np.mean((np.linalg.norm(x_hat.reshape(4, -1), axis=1) - 1.0) ** 2)
    penalty = losses.gradient_penalty(critic, tf.constant(real), tf.constant(fake), epsilon)
    assert _np(penalty) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_has_finite_gradient_at_zero_gradient():
    # f(x) = v * sum(x) with v = 0: the input gradient is exactly zero, where the gradient of a
    # plain sqrt norm is inf * 0 = NaN.
    v = tf.Variable(0.0)

    def critic(x):  # one argument: the penalty calls critic(images)
        return v * tf.reduce_sum(x, axis=(1, 2, 3))

    x = tf.ones((3, 2, 2, 1))
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, x, -x, tf.fill((3,), 0.5))
    grad = tape.gradient(penalty, v)
    assert _np(penalty) == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(grad.numpy())


def test_mode_seeking_is_the_mean_over_pairs_of_noise_gap_over_image_gap():
    """Pair 1: images 0.5 apart per pixel for z 1 apart (ratio 0.5, term 2); pair 2: 0.2 for 2
    (ratio 0.1, term 10). A fifth row has no partner and is left out."""
    images = np.zeros((5, 2, 2, 1), "float32")
    images[1], images[3], images[4] = 0.5, -0.2, 9.0
    z = np.zeros((5, 3), "float32")
    z[1], z[3], z[4] = 1.0, 2.0, 9.0
    assert _np(losses.mode_seeking_loss(images, z)) == pytest.approx((2 + 10) / 2, rel=1e-4)
    alike = np.zeros((2, 2, 2, 1), "float32")
    assert _np(losses.mode_seeking_loss(alike, z[:2])) == pytest.approx(1e5, rel=1e-4)  # 1 / epsilon


def test_mean_absolute_error():
    assert _np(losses.mean_absolute_error(np.array([1.0, -1.0]), np.array([0.0, 1.0]))) == 1.5


def ring(inner_value, outer_value, ground_value):
    """A 12x12 square ring on a 20x20 ground: the 0 of a digit, as a 1-channel image."""
    image = np.full((1, 20, 20, 1), ground_value, "float32")
    image[:, 4:16, 4:16] = outer_value
    image[:, 7:13, 7:13] = inner_value
    return image


def test_edge_correlation_ignores_polarity_and_contrast_but_not_moved_edges():
    dark_ink = ring(inner_value=1.0, outer_value=-1.0, ground_value=1.0)
    light_ink = ring(inner_value=-1.0, outer_value=1.0, ground_value=-1.0)
    faint_ink = 0.2 * light_ink
    hole_as_shape = ring(inner_value=1.0, outer_value=-1.0, ground_value=-1.0)
    for same_edges in (dark_ink, light_ink, faint_ink):
        assert _np(losses.edge_correlation_loss(dark_ink, same_edges)) == pytest.approx(0, abs=1e-4)
    # drawing the ring's hole as the shape keeps its inner edge only
    assert _np(losses.edge_correlation_loss(dark_ink, hole_as_shape)) > 0.3


def test_edge_correlation_matches_hand_computation():
    rng = np.random.default_rng(0)
    source, translated = (rng.uniform(-1, 1, (3, 5, 6, 2)).astype("float32") for _ in range(2))

    def edges(images):
        grey = images.mean(-1)
        down = grey[:, 1:, :-1] - grey[:, :-1, :-1]
        right = grey[:, :-1, 1:] - grey[:, :-1, :-1]
        return np.sqrt(down**2 + right**2 + 1e-6).reshape(len(images), -1)

    correlations = [np.corrcoef(s, t)[0, 1] for s, t in zip(edges(source), edges(translated))]
    assert _np(losses.edge_correlation_loss(source, translated)) == pytest.approx(1 - np.mean(correlations), rel=1e-4)
