"""DCGAN generator and discriminator (Radford et al. 2015), sized to the image.

A ladder of stride-2 layers: the generator starts at base x base (4 or 7), refines there with one
stride-1 layer, and doubles to the image size; the discriminator halves down to the same base.
Widths halve on the way up and double on the way down, as in the paper's 64x64 figure.

The stride-1 layer at the base (as in the TensorFlow DCGAN tutorial's MNIST generator) gives the
generator a layer that mixes the whole layout before upsampling. On MNIST after 2 epochs (batch
16, reference classifier): 60% of samples recognised with confidence with it, 55% without.
"""

import keras

from keras_gans.errors import ImageSizeError, UsageError
from keras_gans.networks.layers import (
    BicubicResize,
    MinibatchStandardDeviation,
    batch_norm,
    conv_init,
    output_image,
    output_logits,
    upsampling_plan,
)


def _up_block(x, width, kernel_size, strides):
    x = keras.layers.Conv2DTranspose(
        width, kernel_size, strides=strides, padding="same", use_bias=False, kernel_initializer=conv_init()
    )(x)
    return keras.layers.ReLU()(batch_norm()(x))


def draw_size_problem(size):
    """What is wrong with a generator's `draw_size`, or None: its stride-2 ladder must reach it."""
    if size:
        try:
            upsampling_plan(size)
        except ImageSizeError:
            return f"must be 0 or 3, 4, 5 or 7 times 2, 4, 8, ... (6, 8, 10, 12, 14, 16, ...), got {size}"
    return None


def build_dcgan_generator(image_shape, latent_dim=100, filters=64, kernel_size=4, draw_size=0, name="generator"):
    """`filters` is the width of the last hidden layer; the base has filters * 2**doublings.

    `draw_size` > 0: the ladder draws draw_size x draw_size images, resized bicubically (and
    clipped, as the resize overshoots) to the image size, for data made that way from smaller
    images, such as the embedded digits (8x8 to 28x28): every sample is then an image the data
    could hold, and the network need not learn the resize's smoothness.
    """
    size, _, channels = image_shape
    problem = draw_size_problem(draw_size)
    if problem:
        raise UsageError(f"draw_size {problem}")
    if draw_size and draw_size >= size:
        raise UsageError(
            f"draw_size {draw_size} (the recipe's or yours) is not smaller than the image size {size}; "
            "pass --draw-size 0 (draw_size: 0) to draw at the image size, or a smaller draw size"
        )
    base, doublings = upsampling_plan(draw_size or size)
    width = filters * 2**doublings
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(base * base * width, use_bias=False, kernel_initializer=conv_init())(z)
    x = keras.layers.Reshape((base, base, width))(x)
    x = keras.layers.ReLU()(batch_norm()(x))
    for strides in [1] + [2] * (doublings - 1):
        width //= 2
        x = _up_block(x, width, kernel_size, strides)
    x = keras.layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", kernel_initializer=conv_init())(
        x
    )
    if not draw_size:
        return keras.Model(z, output_image(x), name=name)
    x = BicubicResize(size, dtype="float32")(output_image(x, name="drawn"))
    return keras.Model(z, keras.layers.Activation("hard_tanh", dtype="float32", name="image")(x), name=name)


def discriminator_features(
    images, filters=64, kernel_size=4, normalization="batch", dropout=0.0, minibatch_std_group=0
):
    """The stride-2 ladder down to the base size, flattened; widths double on the way.

    `normalization`: "batch" (DCGAN), "layer" or None (critics with a gradient penalty: the
    penalty is per sample, which BatchNorm's batch statistics would break). `dropout` after each
    layer while training (a classifier of few labels). `minibatch_std_group` > 0 adds Karras et
    al.'s minibatch standard deviation channel at the base, over groups of that many images.
    """
    _, doublings = upsampling_plan(images.shape[1])
    x = images
    for i in range(doublings):
        x = keras.layers.Conv2D(
            filters * 2**i,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=i == 0 or normalization is None,
            kernel_initializer=conv_init(),
        )(x)
        if i > 0 and normalization == "batch":
            x = batch_norm()(x)
        elif i > 0 and normalization == "layer":
            x = keras.layers.LayerNormalization(axis=(1, 2, 3))(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    if minibatch_std_group:
        x = MinibatchStandardDeviation(minibatch_std_group)(x)
    return keras.layers.Flatten()(x)


def build_dcgan_discriminator(
    image_shape, filters=64, kernel_size=4, normalization="batch", minibatch_std_group=0, name="discriminator"
):
    """One logit per image; see `discriminator_features` for the other arguments."""
    images = keras.Input(image_shape, name="images")
    features = discriminator_features(
        images, filters, kernel_size, normalization, minibatch_std_group=minibatch_std_group
    )
    logits = keras.layers.Dense(1, kernel_initializer=conv_init())(features)
    return keras.Model(images, output_logits(logits), name=name)
