"""Class-conditional GANs on the GAN loop: cGAN (Mirza and Osindero 2014) and ACGAN (Odena et
al. 2017). Both train on (images, labels) and draw G(z, y).

Fakes are drawn for the labels of the real batch they are compared with, so the critic judges
image and label together and a gradient penalty interpolates between a real and a fake of the
same class. The cGAN critic sees the label (as an image channel); the ACGAN discriminator
predicts it.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import networks
from keras_gans.errors import UsageError
from keras_gans.export import finite_noise, images_to_uint8
from keras_gans.methods import registry
from keras_gans.methods.base import DISCRIMINATOR, training_options
from keras_gans.methods.gan import GAN, GANOptions, discriminator_normalization
from keras_gans.methods.wgan import WGANGPOptions
from keras_gans.options import ConfigError, option


def dcgan_only():
    return option(
        "dcgan",
        "networks: dcgan (convolutional, with a label embedding)",
        "Radford et al. 2015",
        choices=("dcgan",),
        stage="build",
    )


def no_clusters():
    return option(
        0, "0 only: the data's labels condition both networks", "Mirza and Osindero 2014", choices=(0,), stage="build"
    )


@dataclasses.dataclass
class CGANOptions(WGANGPOptions):
    """Trained as WGAN-GP by default; Mirza and Osindero's own BCE is adversarial_loss: bce,
    d_steps: 1, gp_weight: 0."""

    generator: str = dcgan_only()
    clusters: int = no_clusters()


@dataclasses.dataclass
class ACGANOptions(GANOptions):
    generator: str = dcgan_only()
    clusters: int = no_clusters()
    class_weight: float = option(
        1.0, "weight of the class cross-entropy in both networks' losses", "Odena et al. 2017", minimum=0
    )


@keras.saving.register_keras_serializable(package="keras_gans")
class ConditionalGAN(GAN):
    """G(z, y) and a critic D(x, y); WGAN-GP's loss and penalty by default."""

    Options = CGANOptions
    takes_labels = True

    def __init__(self, generator, discriminator, num_classes, seed=None, name=None, **options):
        if not num_classes or int(num_classes) < 2:
            raise UsageError(
                f"{type(self).__name__} needs at least 2 classes, got {num_classes}; train on labelled data"
            )
        super().__init__(generator, discriminator, seed=seed, name=name, **options)
        self.num_classes = int(num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

    def export_constants(self):
        return {"num_classes": self.num_classes}

    def split_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
            raise UsageError(f"{type(self).__name__} trains on (images, labels) batches; load the data with labels")
        return data[0], ops.cast(data[1], "int32")

    def generator_inputs(self, z, labels):
        return [z, labels]

    def discriminate(self, images, labels):
        return self.discriminator([images, labels], training=True), None

    # ----------------------------------------------------------------- sampling
    def class_labels(self, n, labels=None):
        """`labels` as n int32 class ids: None cycles 0..K-1, one int draws that class."""
        if labels is None:
            return np.arange(n, dtype="int32") % self.num_classes
        labels = np.broadcast_to(np.asarray(labels, dtype="int32"), (n,))
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise UsageError(f"labels must lie in 0..{self.num_classes - 1}, got {labels.min()}..{labels.max()}")
        return labels

    def generate_from_latent(self, z, labels=None, batch_size=256):
        labels = self.class_labels(len(z), labels)
        return np.concatenate(
            [
                ops.convert_to_numpy(
                    self.sampling_generator([z[i : i + batch_size], labels[i : i + batch_size]], training=False)
                )
                for i in range(0, len(z), batch_size)
            ]
        ).astype("float32")

    def generate(self, n, labels=None, seed=None):
        """`n` images in [-1, 1] of class `labels` (an int, or one per image; default 0..K-1 cycled)."""
        return self.generate_from_latent(self.latent_noise(n, seed), labels)

    def preview_rows(self, seed=0, rows=None, columns=8):
        """One row per class (the first `rows` classes if given); column j shares its noise."""
        rows = min(rows or self.num_classes, self.num_classes)
        z = np.tile(self.latent_noise(columns, seed), (rows, 1))
        images = self.generate_from_latent(z, np.repeat(np.arange(rows), columns))
        return images.reshape((rows, columns) + images.shape[1:])

    @property
    def preview_row_names(self):
        return [f"class {label}" for label in range(self.num_classes)]

    def serving_signatures(self):
        """`serving_default`: z (float32 [batch, latent_dim]), label (int32 [batch]) -> images
        (uint8 [batch, H, W, C])."""
        generator = self.sampling_generator

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, self.latent_dim], tf.float32, name="z"),
                tf.TensorSpec([None], tf.int32, name="label"),
            ]
        )
        def generate(z, label):
            return {"images": images_to_uint8(generator([finite_noise(z), label], training=False))}

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

    Options = ACGANOptions

    def __init__(self, generator, discriminator, num_classes, seed=None, name=None, **options):
        super().__init__(generator, discriminator, num_classes, seed=seed, name=name, **options)
        self.class_weight = float(self.resolve_options(options)["class_weight"])

    @classmethod
    def reported_metrics(cls, options):
        return super().reported_metrics(options) + ("d_class", "g_class")

    def discriminate(self, images, labels):
        return tuple(self.discriminator(images, training=True))

    @property
    def generator_objective(self):
        """G's loss (reported as g_loss, class term included) split into its adversarial term
        and class_weight x the class cross-entropy."""
        return {
            "adversarial": {"g_loss": 1.0, "g_class": -self.class_weight},
            f"{self.class_weight:g} x class": {"g_class": self.class_weight},
        }

    def class_terms(self, class_logits, labels, side):
        loss = ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, ops.cast(class_logits, "float32"), from_logits=True)
        )
        name = "d_class" if side == DISCRIMINATOR else "g_class"
        return self.class_weight * loss, {name: loss}


def conditional_networks(options, image_shape, num_classes, build_discriminator, **discriminator_args):
    """(generator, discriminator) for `num_classes` labels: the conditional generator and
    `build_discriminator`, normalised as its constraints allow (`gan.discriminator_normalization`)."""
    generator = networks.build_conditional_generator(
        image_shape,
        num_classes,
        latent_dim=options.latent_dim,
        filters=options.g_filters,
        draw_size=options.draw_size,
    )
    discriminator = build_discriminator(
        image_shape,
        num_classes,
        filters=options.d_filters,
        normalization=discriminator_normalization(options),
        minibatch_std_group=options.minibatch_std,
        **discriminator_args,
    )
    return generator, discriminator


def build(model_class, build_discriminator):
    """A builder for `registry.register`: `conditional_networks`, then `model_class`."""

    def build_model(options, image_shape, num_classes=None, seed=None):
        if not num_classes:
            raise ConfigError(
                f"{model_class.__name__} needs labelled data; use a labelled dataset such as mnist or a folder "
                "with one sub-folder per class (from Python: keras_gans.build(..., num_classes=N))"
            )
        pair = conditional_networks(options, image_shape, num_classes, build_discriminator)
        return model_class(*pair, num_classes, seed=seed, **training_options(options))

    return build_model


registry.register(
    "cgan",
    ConditionalGAN,
    CGANOptions,
    build(ConditionalGAN, networks.build_conditional_critic),
    "conditional GAN: G(z, label), critic with a label channel (WGAN-GP)",
)
registry.register(
    "acgan",
    ACGAN,
    ACGANOptions,
    build(ACGAN, networks.build_acgan_discriminator),
    "ACGAN: G(z, label), discriminator that predicts the label",
)
