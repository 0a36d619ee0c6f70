"""The ResNet generator of CycleGAN (Zhu et al. 2017, after Johnson et al. 2016).

c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-3: two stride-2 downsamplings, residual
blocks at a quarter of the size, two stride-2 upsamplings. Every convolution is followed by
instance norm and ReLU, except the last (tanh); 7x7 and 3x3 convolutions at full size pad by
reflection. The paper uses 9 blocks at 256 px and 6 at 128 px or less.

With `style_dim` the generator takes a second input, a style code that modulates every instance
norm (`StyleModulation`), so one image can be translated in several ways (Almahairi et al. 2018).
"""

import keras

from keras_gans.errors import ImageSizeError
from keras_gans.networks.layers import ReflectionPadding2D, StyleModulation, conv_init, instance_norm, output_image


def resnet_blocks_for(image_size):
    """The paper's block count: 6 up to 128 px, 9 above."""
    return 6 if image_size <= 128 else 9


def _normalize(x, style):
    """Instance norm, modulated by the style code when there is one."""
    x = instance_norm()(x)
    return x if style is None else StyleModulation()([x, style])


def _conv(x, filters, kernel_size, style, strides=1, reflect=0, transpose=False):
    """Convolution (or transposed), instance norm, ReLU. No bias: the normalisation removes it."""
    if reflect:
        x = ReflectionPadding2D(reflect)(x)
    layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    x = layer(
        filters,
        kernel_size,
        strides=strides,
        padding="valid" if reflect else "same",
        use_bias=False,
        kernel_initializer=conv_init(),
    )(x)
    return keras.layers.ReLU()(_normalize(x, style))


def _residual_block(x, style):
    filters = x.shape[-1]
    y = _conv(x, filters, 3, style, reflect=1)
    y = ReflectionPadding2D(1)(y)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, kernel_initializer=conv_init())(y)
    return keras.layers.Add()([x, _normalize(y, style)])


def build_resnet_generator(image_shape, filters=64, blocks=None, style_dim=0, name="generator"):
    """`filters` is the width at full size (64 in the paper); `blocks` defaults to the paper's
    count for the image size. The image side must be a multiple of 4. With `style_dim` > 0 the
    inputs are `[images, style]`, style of shape [batch, style_dim]."""
    size, _, channels = image_shape
    if size % 4:
        raise ImageSizeError(
            f"image size {size} cannot be built by the ResNet generator; use a multiple of 4 such as 32, 64, 128 or 256"
        )
    blocks = resnet_blocks_for(size) if blocks is None else blocks
    images = keras.Input(image_shape, name="images")
    style = keras.Input((style_dim,), name="style") if style_dim else None
    x = _conv(images, filters, 7, style, reflect=3)
    x = _conv(x, filters * 2, 3, style, strides=2)
    x = _conv(x, filters * 4, 3, style, strides=2)
    for _ in range(blocks):
        x = _residual_block(x, style)
    for width in (filters * 2, filters):
        x = _conv(x, width, 3, style, strides=2, transpose=True)
    x = ReflectionPadding2D(3)(x)
    x = keras.layers.Conv2D(channels, 7, kernel_initializer=conv_init())(x)
    inputs = images if style is None else [images, style]
    return keras.Model(inputs, output_image(x), name=name)
