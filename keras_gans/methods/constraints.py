"""Constraints on a discriminator, pluggable into the GAN loop: a penalty added to its loss, or a
projection applied after each of its updates.

Both keep the critic of a Wasserstein GAN (roughly) 1-Lipschitz, which its loss needs to mean
a distance; the loop applies whichever of them a model's options switch on.
"""

from keras import ops

from keras_gans import losses


class WeightClipping:
    """Arjovsky et al. 2017: every critic weight clipped to [-clip_value, clip_value] after each
    critic update. Crude (it also limits capacity), but the original WGAN."""

    name = None  # no loss term to report

    def __init__(self, clip_value):
        self.clip_value = float(clip_value)

    def penalty(self, critic, real, fake, uniform):
        return None

    def after_update(self, discriminator):
        for variable in discriminator.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))


class GradientPenalty:
    """Gulrajani et al. 2017: weight * mean (||grad f(x_hat)|| - 1)^2 at x_hat = eps x +
    (1 - eps) G(z), one uniform eps per sample. Per sample, so the critic must not use
    BatchNorm, whose batch statistics mix samples."""

    name = "gp"

    def __init__(self, weight):
        self.weight = float(weight)

    def penalty(self, critic, real, fake, uniform):
        """The penalty before its weight; `uniform(n)` draws the n interpolation weights."""
        return losses.gradient_penalty(critic, real, fake, uniform(ops.shape(real)[0]))

    def after_update(self, discriminator):
        pass
