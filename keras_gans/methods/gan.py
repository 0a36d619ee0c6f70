"""The GAN update (Goodfellow et al. 2014), shared by the `gan`, `dcgan` and `lsgan` recipes.

The recipes differ only in their networks (MLP or DCGAN) and their loss (`bce`, `lsgan`, `hinge`).
"""

import keras
import tensorflow as tf
from keras import ops

from keras_gans import losses
from keras_gans.errors import UsageError
from keras_gans.methods.base import NoiseToImageModel


@keras.saving.register_keras_serializable(package="keras_gans")
class GAN(NoiseToImageModel):
    """One discriminator update, then `generator_steps` generator updates, per batch.

    Two generator updates per discriminator update (as in the widely used DCGAN-tensorflow code)
    keep a fast discriminator from outrunning the generator; each draws fresh noise.

    Real and fake batches go through the discriminator in separate calls, as in DCGAN: with
    BatchNorm in the discriminator, a mixed batch would let it separate the two by their batch
    statistics instead of by the images.
    """

    def __init__(self, generator, discriminator, latent_dim=None, loss="bce", generator_steps=1,
                 **kwargs):
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)
        if int(generator_steps) < 1:
            raise UsageError(f"generator_steps (g_steps) must be at least 1, got {generator_steps}; "
                             "1 is the papers' step, 2 the MNIST recipes'")
        self.loss_name = loss
        self.generator_steps = int(generator_steps)
        self.d_loss_fn, self.g_loss_fn = losses.get_adversarial_loss(loss)

    def get_config(self):
        return {**super().get_config(), "loss": self.loss_name,
                "generator_steps": self.generator_steps}

    def discriminator_score(self, logits):
        """Mean D output as a probability where the loss defines one, else the raw score."""
        logits = ops.cast(logits, "float32")
        if self.loss_name in losses.PROBABILISTIC_LOSSES:
            logits = ops.sigmoid(logits)
        return ops.mean(logits)

    def train_step(self, data):
        real = self.images_of(data)
        batch_size = ops.shape(real)[0]

        fake = self.generator(self.sample_latent(batch_size), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            scaled = self.scale_loss(d_loss, self.d_optimizer)
        self.apply_gradients(tape, scaled, self.d_optimizer, self.discriminator)

        for _ in range(self.generator_steps):
            with tf.GradientTape() as tape:
                fake = self.generator(self.sample_latent(batch_size), training=True)
                g_loss = self.g_loss_fn(self.discriminator(fake, training=True))
                scaled = self.scale_loss(g_loss, self.g_optimizer)
            self.apply_gradients(tape, scaled, self.g_optimizer, self.generator)
            self.update_ema()

        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=self.discriminator_score(real_logits),
            d_fake=self.discriminator_score(fake_logits),
        )
