"""The style encoder of a multimodal CycleGAN: an image of domain B -> a small style code.

Strided convolutions and a global average: the code sums up what is the same all over the
image (colours, which side is light), not where things are. No instance norm, which would
remove exactly those statistics.
"""

import keras

from keras_gans.networks.layers import conv_init


def build_style_encoder(image_shape, style_dim=8, filters=64, downsamplings=3,
                        name="style_encoder"):
    images = keras.Input(image_shape, name="images")
    x = images
    for i in range(downsamplings):
        x = keras.layers.Conv2D(filters * 2 ** i, 4, strides=2, padding="same",
                                kernel_initializer=conv_init())(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    style = keras.layers.Dense(style_dim, dtype="float32", name="style")(x)
    return keras.Model(images, style, name=name)
