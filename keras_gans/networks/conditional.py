"""Class-conditional networks: a generator of (z, label) and critics that see or predict the label.

The generator is the DCGAN generator fed z concatenated with a learned label embedding (Mirza and
Osindero 2014). The cGAN critic reads the label as an extra image channel, a learned H x W plane per
class, so its first convolution sees label and pixels together. The ACGAN discriminator (Odena et
al. 2017) never sees the label: it predicts it with a second head on the shared features.
"""

import keras

from keras_gans.networks.dcgan import build_dcgan_generator, discriminator_features
from keras_gans.networks.layers import conv_init, output_logits


def label_input():
    """Integer class labels, one per sample: shape (batch,)."""
    return keras.Input((), dtype="int32", name="label")


def label_embedding(num_classes, size):
    """A learned vector per class, drawn at the scale of z and of the pixels.

    At the N(0, 0.02) of the convolutions the label would start 50 times fainter than the noise
    and the image beside it, and the networks would long ignore it.
    """
    return keras.layers.Embedding(num_classes, size, embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0))


def build_conditional_generator(
    image_shape, num_classes, latent_dim=100, filters=64, embedding_dim=None, draw_size=0, name="generator"
):
    """(z, label) -> image; `draw_size` as for `build_dcgan_generator`.

    `embedding_dim` defaults to latent_dim, so the label weighs as much as the noise in the first
    layer: a short label vector beside a long z is learned far more slowly.
    """
    embedding_dim = embedding_dim or latent_dim
    z, label = keras.Input((latent_dim,), name="z"), label_input()
    embedded = label_embedding(num_classes, embedding_dim)(label)
    body = build_dcgan_generator(
        image_shape, latent_dim=latent_dim + embedding_dim, filters=filters, draw_size=draw_size, name=f"{name}_body"
    )
    images = body(keras.layers.Concatenate()([z, embedded]))
    return keras.Model([z, label], images, name=name)


def build_conditional_critic(
    image_shape, num_classes, filters=64, normalization="layer", minibatch_std_group=0, name="critic"
):
    """(image, label) -> one score; the label enters as an extra channel."""
    height, width, _ = image_shape
    images, label = keras.Input(image_shape, name="images"), label_input()
    plane = label_embedding(num_classes, height * width)(label)
    plane = keras.layers.Reshape((height, width, 1))(plane)
    x = discriminator_features(
        keras.layers.Concatenate()([images, plane]),
        filters,
        normalization=normalization,
        minibatch_std_group=minibatch_std_group,
    )
    scores = keras.layers.Dense(1, kernel_initializer=conv_init())(x)
    return keras.Model([images, label], output_logits(scores), name=name)


def build_acgan_discriminator(
    image_shape, num_classes, filters=64, normalization="batch", minibatch_std_group=0, name="discriminator"
):
    """image -> (real/fake logit, class logits) from shared features."""
    images = keras.Input(image_shape, name="images")
    x = discriminator_features(images, filters, normalization=normalization, minibatch_std_group=minibatch_std_group)
    source = keras.layers.Dense(1, kernel_initializer=conv_init())(x)
    classes = keras.layers.Dense(num_classes, kernel_initializer=conv_init())(x)
    return keras.Model(images, [output_logits(source), output_logits(classes, name="class_logits")], name=name)
