"""Class-conditional GANs: cGAN (Mirza and Osindero 2014) and ACGAN (Odena et al. 2017).

Both train on (images, labels) with the n_critic loop of WGAN. Fakes are drawn for the labels of
the real batch they are compared with, so the critic judges image and label together and the
gradient penalty interpolates between a real and a fake of the same class.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans.errors import UsageError
from keras_gans.export import images_to_uint8
from keras_gans.methods.wgan import WGANGP


@keras.saving.register_keras_serializable(package="keras_gans")
class ConditionalGAN(WGANGP):
    """G(z, y) and a critic D(x, y); WGAN-GP's loss by default, any adversarial loss by name.

    With `loss="bce"` (Mirza and Osindero's own), pass n_critic=1 and gp_weight=0.
    """

    def __init__(self, generator, discriminator, num_classes, latent_dim=None,
                 loss="wasserstein", **kwargs):
        if not num_classes or int(num_classes) < 2:
            raise UsageError(f"{type(self).__name__} needs at least 2 classes, got {num_classes}; "
                             "train on labelled data")
        self.num_classes = int(num_classes)
        self.loss_name = loss
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "loss": self.loss_name}

    def real_and_labels(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
            raise UsageError(f"{type(self).__name__} trains on (images, labels) batches; "
                             "load the data with labels")
        return data[0], ops.cast(data[1], "int32")

    def generator_inputs(self, z, labels):
        return [z, labels]

    def critic_scores(self, images, labels):
        return self.discriminator([images, labels], training=True)

    # ----------------------------------------------------------------- sampling
    def class_labels(self, n, labels=None):
        """`labels` as n int32 class ids: None cycles 0..K-1, one int draws that class."""
        if labels is None:
            return np.arange(n, dtype="int32") % self.num_classes
        labels = np.broadcast_to(np.asarray(labels, dtype="int32"), (n,))
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise UsageError(f"labels must lie in 0..{self.num_classes - 1}, got "
                             f"{labels.min()}..{labels.max()}")
        return labels

    def generate_from_latent(self, z, labels=None, batch_size=256):
        labels = self.class_labels(len(z), labels)
        return np.concatenate([
            ops.convert_to_numpy(self.sampling_generator(
                [z[i:i + batch_size], labels[i:i + batch_size]], training=False))
            for i in range(0, len(z), batch_size)
        ]).astype("float32")

    def generate(self, n, labels=None, seed=None):
        """`n` images in [-1, 1] of class `labels` (an int, or one per image; default 0..K-1 cycled)."""
        return self.generate_from_latent(self.latent_noise(n, seed), labels)

    def preview_rows(self, seed=0, rows=None, columns=8):
        """One row per class (the first `rows` classes if given); column j shares its noise."""
        rows = min(rows or self.num_classes, self.num_classes)
        z = np.tile(self.latent_noise(columns, seed), (rows, 1))
        images = self.generate_from_latent(z, np.repeat(np.arange(rows), columns))
        return images.reshape((rows, columns) + images.shape[1:])

    def serving_signatures(self):
        """`serving_default`: z (float32 [batch, latent_dim]), label (int32 [batch]) -> images
        (uint8 [batch, H, W, C])."""
        generator = self.sampling_generator

        @tf.function(input_signature=[tf.TensorSpec([None, self.latent_dim], tf.float32, name="z"),
                                      tf.TensorSpec([None], tf.int32, name="label")])
        def generate(z, label):
            return {"images": images_to_uint8(generator([z, label], training=False))}

        return {"serving_default": generate}


@keras.saving.register_keras_serializable(package="keras_gans")
class ACGAN(ConditionalGAN):
    """The discriminator sees only the image and predicts its class with a second head.

    Both networks are also trained to make the class head right (Odena et al.'s L_C), weighted by
    `class_weight`: D on real images, G on its fakes. Odena also trains D's head on fakes; then D
    learns G's mistakes as the class (on MNIST, 5 epochs, G drew 9s for 8 and 6-like shapes for
    5, and D's head agreed), so here the head learns from real images only.
    Metrics `d_class` and `g_class` are those cross-entropies.
    """

    def __init__(self, generator, discriminator, num_classes, latent_dim=None, loss="bce",
                 n_critic=1, gp_weight=0.0, class_weight=1.0, **kwargs):
        self.class_weight = float(class_weight)
        super().__init__(generator, discriminator, num_classes, latent_dim=latent_dim, loss=loss,
                         n_critic=n_critic, gp_weight=gp_weight, **kwargs)

    def default_optimizer(self, name):
        return keras.optimizers.Adam(2e-4, beta_1=0.5)

    def reported_metrics(self):
        return super().reported_metrics() + ("d_class", "g_class")

    def get_config(self):
        return {**super().get_config(), "class_weight": self.class_weight}

    @staticmethod
    def class_loss(class_logits, labels):
        return ops.mean(keras.losses.sparse_categorical_crossentropy(
            labels, ops.cast(class_logits, "float32"), from_logits=True))

    def critic_scores(self, images, labels):
        return self.discriminator(images, training=True)[0]

    def critic_loss(self, real, fake, labels):
        real_scores, real_classes = self.discriminator(real, training=True)
        fake_scores, _ = self.discriminator(fake, training=True)
        loss, terms = self.adversarial_critic_loss(real_scores, fake_scores, real, fake, labels)
        d_class = self.class_loss(real_classes, labels)
        return loss + self.class_weight * d_class, {**terms, "d_class": d_class}

    def generator_loss(self, fake, labels):
        scores, classes = self.discriminator(fake, training=True)
        g_class = self.class_loss(classes, labels)
        return self.g_loss_fn(scores) + self.class_weight * g_class, {"g_class": g_class}
