"""The style encoder of a multimodal CycleGAN: an image of domain B -> a small style code.

Strided convolutions and a global average: the code sums up what is the same all over the
image (colours, which side is light), not where things are. No instance norm, which would
remove exactly those statistics. Keras' default (Glorot) initialisation rather than the GANs'
N(0, 0.02): with the latter the first codes are ~1e-3 and the encoder takes long to start.
"""

import keras


def build_style_encoder(image_shape, style_dim=8, filters=64, downsamplings=3, name="style_encoder"):
    images = keras.Input(image_shape, name="images")
    x = images
    for i in range(downsamplings):
        x = keras.layers.Conv2D(filters * 2**i, 4, strides=2, padding="same")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    style = keras.layers.Dense(style_dim, dtype="float32", name="style")(x)
    return keras.Model(images, style, name=name)
