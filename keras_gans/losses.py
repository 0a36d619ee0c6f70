"""Adversarial losses as pure functions of discriminator outputs.

Every function takes logits (or critic scores), never probabilities, and returns the mean over the
local batch. Scaling for distribution is the method's job, not the loss's, so these stay testable
against hand-computed values.
"""

import tensorflow as tf
from keras import ops


def _bce_with_logits(logits, target):
    # log(1 + exp(-|x|)) + max(x, 0) - x * t: the numerically stable form.
    logits = ops.cast(logits, "float32")
    return ops.mean(ops.relu(logits) - logits * target + ops.log1p(ops.exp(-ops.abs(logits))))


def bce_discriminator_loss(real_logits, fake_logits):
    """Goodfellow et al.'s discriminator loss: real is 1, fake is 0."""
    return _bce_with_logits(real_logits, 1.0) + _bce_with_logits(fake_logits, 0.0)


def bce_generator_loss(fake_logits):
    """The non-saturating generator loss, -log D(G(z)), which keeps gradients alive early on."""
    return _bce_with_logits(fake_logits, 1.0)


def lsgan_discriminator_loss(real_logits, fake_logits):
    """Mao et al.'s least squares loss with targets real 1, fake 0 (the 0.5 factor of the paper)."""
    real = ops.cast(real_logits, "float32")
    fake = ops.cast(fake_logits, "float32")
    return 0.5 * ops.mean(ops.square(real - 1.0)) + 0.5 * ops.mean(ops.square(fake))


def lsgan_generator_loss(fake_logits):
    return 0.5 * ops.mean(ops.square(ops.cast(fake_logits, "float32") - 1.0))


def hinge_discriminator_loss(real_logits, fake_logits):
    real = ops.cast(real_logits, "float32")
    fake = ops.cast(fake_logits, "float32")
    return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


def hinge_generator_loss(fake_logits):
    return -ops.mean(ops.cast(fake_logits, "float32"))


def wasserstein_critic_loss(real_scores, fake_scores):
    """E[f(fake)] - E[f(real)]: minimising it maximises the critic's Wasserstein estimate."""
    return ops.mean(ops.cast(fake_scores, "float32")) - ops.mean(ops.cast(real_scores, "float32"))


def wasserstein_generator_loss(fake_scores):
    return -ops.mean(ops.cast(fake_scores, "float32"))


ADVERSARIAL_LOSSES = {
    "bce": (bce_discriminator_loss, bce_generator_loss),
    "lsgan": (lsgan_discriminator_loss, lsgan_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss),
}

# Losses whose discriminator output reads as a probability after a sigmoid.
PROBABILISTIC_LOSSES = {"bce"}


def get_adversarial_loss(name):
    """Returns (discriminator_loss, generator_loss) for a loss name."""
    try:
        return ADVERSARIAL_LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(sorted(ADVERSARIAL_LOSSES))}") from None


def gradient_penalty(critic, real, fake, epsilon):
    """Gulrajani et al.'s penalty: mean over samples of (||grad f(x_hat)|| - 1)^2.

    `critic` maps images to scores; `epsilon` holds one uniform draw per sample. The norm is
    taken as sqrt(sum + tiny) so its gradient stays finite where the critic's gradient is
    exactly zero (sqrt'(0) is infinite).
    """
    epsilon = ops.reshape(ops.cast(epsilon, real.dtype), (-1,) + (1,) * (len(real.shape) - 1))
    # A user's generator may end in bfloat16 under a mixed policy; the data are float32.
    interpolated = epsilon * real + (1.0 - epsilon) * ops.cast(fake, real.dtype)
    with tf.GradientTape() as tape:  # a nested tape: Keras has no backend-neutral one
        tape.watch(interpolated)
        scores = critic(interpolated)
    grads = ops.cast(tape.gradient(scores, interpolated), "float32")
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(discriminator, real):
    """Mescheder et al.'s R1 before its weight gamma / 2: mean over real samples of
    ||grad D(x)||^2, the gradient of D's logit (its score before any sigmoid)."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = discriminator(real)
    grads = ops.cast(tape.gradient(scores, real), "float32")
    return ops.mean(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))))


def mode_seeking_loss(images, z, epsilon=1e-5):
    """Mao et al.'s (2019) mode-seeking term for pairs of rows (0 and 1, 2 and 3, ...): the mean
    over pairs of 1 / (mean |image difference| / mean |z difference|). Small when different
    noise draws different images; large when G ignores its noise. Per pair rather than per
    batch, so it is a mean over samples like every loss here and splits over replicas."""
    images, z = ops.cast(images, "float32"), ops.cast(z, "float32")
    pairs = (ops.shape(images)[0] // 2) * 2
    image_gaps = ops.abs(images[0:pairs:2] - images[1:pairs:2])
    z_gaps = ops.abs(z[0:pairs:2] - z[1:pairs:2])
    ratios = ops.mean(ops.reshape(image_gaps, (pairs // 2, -1)), axis=1) / ops.mean(z_gaps, axis=1)
    return ops.mean(1.0 / (ratios + epsilon))


def mean_absolute_error(a, b):
    """L1 distance, the cycle-consistency and identity term of CycleGAN."""
    return ops.mean(ops.abs(ops.cast(a, "float32") - ops.cast(b, "float32")))


def _edge_strength(images):
    """Per-pixel gradient magnitude of the grey image: large wherever intensity changes,
    whichever way it changes."""
    grey = ops.mean(ops.cast(images, "float32"), axis=-1)
    down = grey[:, 1:, :-1] - grey[:, :-1, :-1]
    right = grey[:, :-1, 1:] - grey[:, :-1, :-1]
    # The small floor keeps the gradient of sqrt finite on flat regions.
    return ops.sqrt(ops.square(down) + ops.square(right) + 1e-6)


def edge_correlation_loss(source, translated):
    """1 - the correlation of source's and translated's edge maps, averaged over images.

    A cycle loss cannot tell a translation that keeps the shapes from one that moves them,
    as long as the way back undoes it: between domains of opposite polarity (dark ink on a
    light ground and light on dark, MR and CT) drawing the ground as the shape is the smaller
    pixel change. Edges stay where they are under any change of intensity, so this term
    favours the translation that keeps them; being a correlation, it ignores their contrast.
    """
    source, translated = (ops.reshape(_edge_strength(x), (ops.shape(x)[0], -1)) for x in (source, translated))
    source = source - ops.mean(source, axis=1, keepdims=True)
    translated = translated - ops.mean(translated, axis=1, keepdims=True)
    covariance = ops.sum(source * translated, axis=1)
    norms = ops.sqrt(ops.sum(ops.square(source), axis=1) * ops.sum(ops.square(translated), axis=1) + 1e-12)
    return ops.mean(1.0 - covariance / norms)


__all__ = [name for name in dir() if name.endswith("_loss")] + [
    "get_adversarial_loss",
    "gradient_penalty",
    "mean_absolute_error",
]
