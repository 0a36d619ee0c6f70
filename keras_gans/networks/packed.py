"""PacGAN's discriminator (Lin et al. 2018): any discriminator, judging images `size` at a time."""

import keras

from keras_gans.networks.layers import Pack


def build_packed_discriminator(image_shape, size, build, name="discriminator"):
    """A discriminator of `image_shape` images that gives one output per group of `size`
    (`Pack`): `build(shape, name)` builds the network it wraps, for images of `size` times the
    channels."""
    height, width, channels = image_shape
    images = keras.Input(image_shape, name="images")
    judged = build((height, width, size * channels), f"packed_{name}")
    return keras.Model(images, judged(Pack(size)(images)), name=name)
