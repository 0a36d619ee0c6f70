"""Semi-supervised classification (Odena 2016; Salimans et al. 2016): the (N+1)-class
discriminator learns to classify from few labels, helped by unlabelled images and a generator.
One train step, as Salimans et al.'s code:

    update D on   cross-entropy(softmax(l(x_lab)), y)                        labelled batch
                + w/2 (-log D(x_unl) - log(1 - D(G(z))))                     unlabelled and fake
    update G by feature matching: |mean f(x_unl) - mean f(G(z))|^2, f the discriminator's
    last hidden layer (or, with generator_loss: non_saturating, -log D(G(z)))

`--labelled N` keeps the labels of N training images, balanced over the classes and fixed by the
seed; every other training image is used without its label.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import networks
from keras_gans.data import checks, load_dataset
from keras_gans.methods.base import AdversarialModel, Export, frozen_copy, training_options, update_moving_average
from keras_gans.methods.gan import NoiseToImage
from keras_gans.methods.sgan.classifier import (
    ClassifierOptions,
    build_classifier,
    choose_labelled,
    class_cross_entropy,
    classifier_signature,
    fake_loss,
    feature_matching,
    labelled_record,
    labels_of,
    real_loss,
    real_probability,
    refuse_augmentation,
)
from keras_gans.options import ConfigError, option


@dataclasses.dataclass
class ClassificationOptions(ClassifierOptions):
    networks: str = option(
        "conv",
        "one dataset: conv (DCGAN ladders) or mlp (Salimans et al.'s MNIST networks: dense layers with Gaussian noise)",
        "Radford et al. 2015",
        choices=("conv", "mlp"),
        stage="build",
    )
    latent_dim: int = option(100, "one dataset: size of the noise z", "Salimans et al. 2016", minimum=1, stage="build")
    g_filters: int = option(
        64,
        "base width of the generators (the DCGAN generator's last hidden layer, CycleGAN's first)",
        "Radford et al. 2015; Zhu et al. 2017",
        minimum=1,
        stage="build",
    )
    generator_loss: str = option(
        "feature_matching",
        "one dataset: feature_matching or non_saturating",
        "Salimans et al. 2016",
        choices=("feature_matching", "non_saturating"),
    )
    unlabelled_weight: float = option(
        1.0,
        "one dataset: weight of the real-vs-fake terms against the labelled cross-entropy",
        "Salimans et al. 2016",
        minimum=0,
    )
    ema_decay: float = option(
        0.999,
        "one dataset: decay of the moving averages of generator and classifier used to sample, export and evaluate, "
        "warmed up as gan's (0.999 holds from update 8,990)",
        "Salimans et al. 2016 (classifier); Karras et al. 2018",
        minimum=0,
    )


# --------------------------------------------------------------------- networks
@keras.saving.register_keras_serializable(package="keras_gans")
class WeightNormDense(keras.layers.Layer):
    """A dense layer whose kernel is g * v / ||v|| per unit (Salimans and Kingma 2016): the
    direction and the scale of each unit's weights learn apart, which lets Salimans et al.'s
    classifier train at a learning rate of 3e-3."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.direction = self.add_weight(
            shape=(input_shape[-1], self.units),
            name="direction",
            initializer=keras.initializers.RandomNormal(0.0, 0.05),
        )
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        norms = ops.sqrt(ops.sum(ops.square(self.direction), axis=0) + 1e-12)
        return self.activation(ops.matmul(inputs, self.direction * (self.scale / norms)) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": keras.activations.serialize(self.activation)}


def build_mlp_classifier(
    image_shape, num_classes, units=(1000, 500, 250, 250, 250), input_noise=0.3, hidden_noise=0.5, name="classifier"
):
    """Salimans et al.'s MNIST discriminator: dense ReLU layers, each input perturbed by
    Gaussian noise while training; the features are the last hidden layer's."""
    images = keras.Input(image_shape, name="images")
    x = keras.layers.Flatten()(images)
    for i, width in enumerate(units):
        noise = input_noise if i == 0 else hidden_noise
        x = keras.layers.GaussianNoise(noise)(x) if noise else x
        x = WeightNormDense(width, activation="relu")(x)
    features = x
    x = keras.layers.GaussianNoise(hidden_noise)(x) if hidden_noise else x
    logits = WeightNormDense(num_classes)(x)
    return keras.Model(
        images,
        [networks.layers.output_logits(logits), networks.layers.output_logits(features, name="features")],
        name=name,
    )


def build_mlp_generator(image_shape, latent_dim=100, units=(500, 500), name="generator"):
    """Salimans et al.'s MNIST generator: dense softplus layers with BatchNorm."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for width in units:
        x = keras.layers.Dense(width, use_bias=False)(x)
        x = keras.layers.Activation("softplus")(networks.layers.batch_norm()(x))
    x = keras.layers.Dense(int(np.prod(image_shape)))(x)
    return keras.Model(z, networks.layers.output_image(keras.layers.Reshape(image_shape)(x)), name=name)


# --------------------------------------------------------------------- data
def semi_supervised_batches(source, chosen, batch_size, seed):
    """((labelled images, labels), unlabelled images) per step from an unbatched, fixed-order
    source of (image, label): the chosen examples, reshuffled and repeated, beside every other
    example (all of them when every label is kept) without its label. An epoch is one pass over
    the unlabelled images."""
    keep = np.zeros(source.num_examples, bool)
    keep[chosen] = True
    mask = tf.constant(keep)

    def is_labelled(index, example):
        return mask[index]

    def is_unlabelled(index, example):
        return tf.logical_not(mask[index])

    def example_of(index, example):
        return example

    def image_of(index, example):
        return example[0]

    examples = source.dataset.unbatch().enumerate()
    labelled = (
        examples.filter(is_labelled)
        .map(example_of)
        .cache()
        .shuffle(len(chosen), seed=seed)
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
    others = examples if keep.all() else examples.filter(is_unlabelled)
    unlabelled = (
        others.map(image_of)
        .shuffle(min(source.num_examples, 60_000), seed=seed + 1)
        .batch(batch_size, drop_remainder=True)
    )
    steps = (source.num_examples if keep.all() else source.num_examples - len(chosen)) // batch_size
    return (
        tf.data.Dataset.zip((labelled, unlabelled))
        .apply(tf.data.experimental.assert_cardinality(steps))
        .prefetch(tf.data.AUTOTUNE)
    )


# --------------------------------------------------------------------- the model
@keras.saving.register_keras_serializable(package="keras_gans")
class SemiSupervisedGAN(NoiseToImage, AdversarialModel):
    """A generator of images from noise and a discriminator that classifies N classes + fake,
    trained by `fit` on batches ((labelled images, labels), unlabelled images); `options` are the
    training fields of `Options`. `classify` and the `classifier` export use the moving average
    of the discriminator."""

    Options = ClassificationOptions
    takes_labels = True
    batch_layout = ((checks.IMAGES, checks.LABELS), checks.IMAGES)
    network_arguments = {"generator": "generator", "classifier": "discriminator"}

    def __init__(self, generator, classifier, num_classes, seed=None, name=None, **options):
        options = self.resolve_options(options)
        super().__init__(
            seed=seed,
            name=name,
            metric_names=("d_loss", "g_loss", "d_real", "d_fake", "supervised", "unsupervised", "accuracy"),
        )
        self.generator_loss = options["generator_loss"]
        self.unlabelled_weight = float(options["unlabelled_weight"])
        self.ema_decay = float(options["ema_decay"])
        self.num_classes = int(num_classes)
        self.generator = generator
        self.discriminator = classifier
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.ema_generator = frozen_copy(generator) if self.ema_decay else None
        self.ema_discriminator = frozen_copy(classifier) if self.ema_decay else None

    @classmethod
    def training_data(cls, data, *, options, batch_size, image_size=None, channels=None, seed=None, augment=None):
        refuse_augmentation(augment)
        source = load_dataset(data, image_size, batch_size=1, channels=channels, with_labels=True, shuffle=False)
        labels = labels_of(source)
        chosen = choose_labelled(labels, options.labelled, source.num_classes, seed or 0)
        dataset = semi_supervised_batches(source, chosen, batch_size, seed or 0)
        unlabelled = source.num_examples if len(chosen) == len(labels) else len(labels) - len(chosen)
        return dataclasses.replace(
            source,
            dataset=dataset,
            num_examples=unlabelled,
            manifest={"labelled": labelled_record(chosen, len(labels))},
        )

    @property
    def plot_panels(self):
        return {
            "losses": ("loss", ("d_loss", "g_loss", "supervised", "unsupervised")),
            "scores": ("mean D(x) = P(real)", ("d_real", "d_fake")),
            "accuracy": ("labelled batch accuracy", ("accuracy",)),
        }

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

    discriminator_output_label = "D(x) = P(real)"

    def discriminator_outputs(self, seed=0):
        """D(x) = P(real), in inference mode, of the held-out images and of the trained
        generator's images from numpy noise of `seed`."""
        if self.held_out is None:
            return None
        real = self.held_out.images[0]
        fake = self.generator(self.latent_noise(len(real), seed), training=False)

        def real_probability(images):
            logits = ops.cast(self.discriminator(images, training=False)[0], "float32")
            return ops.convert_to_numpy(ops.sigmoid(ops.logsumexp(logits, axis=1)))

        return {"D": (real_probability(real), real_probability(fake))}

    # ----------------------------------------------------------------- the update
    def train_step(self, data):
        # A dataset element ((labelled, labels), unlabelled), or train_on_batch's x and y.
        (labelled, labels), unlabelled, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = ops.shape(unlabelled)[0]
        fake = self.generator(self.sample_latent(batch_size), training=True)
        with tf.GradientTape() as tape:
            labelled_logits, _ = self.discriminator(labelled, training=True)
            real_logits, _ = self.discriminator(unlabelled, training=True)
            fake_logits, _ = self.discriminator(fake, training=True)
            supervised = class_cross_entropy(labelled_logits, labels)
            unsupervised = 0.5 * (real_loss(real_logits) + fake_loss(fake_logits))
            d_loss = supervised + self.unlabelled_weight * unsupervised
            scaled = self.scale_loss(d_loss, self.d_optimizer)
        self.apply_gradients(tape, scaled, self.d_optimizer, self.discriminator)

        with tf.GradientTape() as tape:
            fake = self.generator(self.sample_latent(batch_size), training=True)
            fake_logits_g, fake_features = self.discriminator(fake, training=True)
            if self.generator_loss == "feature_matching":
                _, real_features = self.discriminator(unlabelled, training=True)
                g_loss = feature_matching(real_features, fake_features)
            else:
                g_loss = real_loss(fake_logits_g)
            scaled = self.scale_loss(g_loss, self.g_optimizer)
        self.apply_gradients(tape, scaled, self.g_optimizer, self.generator)
        step = self.g_optimizer.iterations
        if self.ema_decay:
            update_moving_average(self.ema_generator, self.generator, step, self.ema_decay)
            update_moving_average(self.ema_discriminator, self.discriminator, step, self.ema_decay)

        predicted = ops.argmax(labelled_logits, axis=1)
        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            supervised=supervised,
            unsupervised=unsupervised,
            d_real=real_probability(real_logits),
            d_fake=real_probability(fake_logits),
            accuracy=ops.mean(ops.cast(predicted == ops.cast(labels, predicted.dtype), "float32")),
        )

    # ----------------------------------------------------------------- classification
    @property
    def serving_classifier(self):
        """The classifier used for `classify` and export: the moving average when there is one."""
        return self.ema_discriminator if self.ema_discriminator is not None else self.discriminator

    def classify(self, images, batch_size=500):
        """Class probabilities (numpy, [N, num_classes]) of images in [-1, 1]."""
        return np.concatenate(
            [
                ops.convert_to_numpy(
                    ops.softmax(self.serving_classifier(images[i : i + batch_size], training=False)[0], axis=-1)
                )
                for i in range(0, len(images), batch_size)
            ]
        )

    def exports(self):
        """The generator, and the classifier (`classifier_signature`)."""
        classifier = self.serving_classifier
        return {
            **super().exports(),
            "classifier": Export(
                [classifier], {"serving_default": classifier_signature(classifier)}, {"num_classes": self.num_classes}
            ),
        }


def build_classification(options, image_shape, num_classes=None, seed=None):
    """A generator and an (N+1)-class classifier: DCGAN ladders, or Salimans et al.'s MLPs."""
    if not num_classes:
        raise ConfigError(
            "sgan needs labelled data; use a labelled dataset such as mnist or a folder with one sub-folder per class"
        )
    if options.networks == "mlp":
        generator = build_mlp_generator(image_shape, latent_dim=options.latent_dim)
        classifier = build_mlp_classifier(image_shape, num_classes, input_noise=options.input_noise)
    else:
        generator = networks.build_dcgan_generator(
            image_shape, latent_dim=options.latent_dim, filters=options.g_filters
        )
        classifier = build_classifier(
            image_shape,
            num_classes,
            filters=options.d_filters,
            input_noise=options.input_noise,
            dropout=options.dropout,
        )
    return SemiSupervisedGAN(generator, classifier, num_classes, seed=seed, **training_options(options))
