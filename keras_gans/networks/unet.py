"""The U-Net generator of pix2pix (Isola et al. 2017), CycleGAN's alternative to the ResNet one.

An encoder of 4x4 stride-2 convolutions (C64-C128-C256-C512-C512...) down to 1x1 at most eight
halvings, and a mirrored decoder that concatenates each encoder level's output: the skips carry
the image's layout straight to the output, so only the appearance has to pass the bottleneck.
Instance norm everywhere except the first and the innermost layer (a 1x1 map has no statistics).
"""

import keras

from keras_gans.errors import ImageSizeError
from keras_gans.networks.layers import conv_init, instance_norm, output_image

MAX_DEPTH = 8  # 256 px -> 1x1, as pix2pix's unet_256


def unet_depth_for(image_size):
    """Halvings down to 1x1 (or to an odd size), at most MAX_DEPTH: 32 -> 5, 256 -> 8, 28 -> 2."""
    depth = 0
    while image_size % 2 == 0 and image_size > 1 and depth < MAX_DEPTH:
        image_size //= 2
        depth += 1
    return depth


def build_unet_generator(image_shape, filters=64, depth=None, name="generator"):
    """`filters` is the width of the outermost level; widths double per level up to 8x."""
    size, _, channels = image_shape
    depth = unet_depth_for(size) if depth is None else depth
    if depth < 2 or size % 2**depth:
        raise ImageSizeError(
            f"image size {size} cannot be built by the U-Net generator; use a power of two such as 32, 64, 128 or 256"
        )
    images = keras.Input(image_shape, name="images")
    x = images
    skips = []
    for level in range(depth):
        normalized = 0 < level < depth - 1
        if level > 0:
            x = keras.layers.LeakyReLU(0.2)(x)
        x = keras.layers.Conv2D(
            filters * 2 ** min(level, 3),
            4,
            strides=2,
            padding="same",
            use_bias=not normalized,
            kernel_initializer=conv_init(),
        )(x)
        if normalized:
            x = instance_norm()(x)
        skips.append(x)
    for skip in reversed(skips[:-1]):
        x = keras.layers.ReLU()(x)
        x = keras.layers.Conv2DTranspose(
            skip.shape[-1], 4, strides=2, padding="same", use_bias=False, kernel_initializer=conv_init()
        )(x)
        x = keras.layers.Concatenate()([skip, instance_norm()(x)])
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", kernel_initializer=conv_init())(x)
    return keras.Model(images, output_image(x), name=name)
