"""The 70x70 PatchGAN discriminator of pix2pix and CycleGAN (Isola et al. 2017).

C64-C128-C256 (4x4, stride 2), C512 (4x4, stride 1), then a 4x4 stride-1 convolution to one
logit per patch. Each output sees a 70x70 window of the image, so D judges local texture and
style and the generator keeps freedom in the global layout; it also works on any image size.
No normalisation on the first layer; instance norm elsewhere, so every logit depends on its own
image only.
"""

import keras

from keras_gans.errors import ImageSizeError
from keras_gans.networks.layers import conv_init, instance_norm, output_logits


def build_patchgan_discriminator(image_shape, filters=64, downsamplings=None, name="discriminator"):
    """`downsamplings` stride-2 layers (3 gives the 70x70 field) before the two stride-1 ones.

    By default 3, fewer below 32 px so the output keeps at least 2x2 patches; at 32 px the
    70 px field covers the whole (padded) image.
    """
    size = image_shape[0]
    if downsamplings is None:
        downsamplings = 3
        while downsamplings > 1 and size // 2**downsamplings < 4:
            downsamplings -= 1
    if size // 2**downsamplings < 4:
        raise ImageSizeError(
            f"image size {size} is too small for a PatchGAN discriminator with "
            f"{downsamplings} stride-2 layers; use a larger image or fewer layers"
        )
    images = keras.Input(image_shape, name="images")
    x = images
    for i in range(downsamplings + 1):  # the last one keeps the size (stride 1)
        x = keras.layers.ZeroPadding2D(1)(x)
        x = keras.layers.Conv2D(
            filters * 2 ** min(i, 3),
            4,
            strides=2 if i < downsamplings else 1,
            use_bias=i == 0,
            kernel_initializer=conv_init(),
        )(x)
        if i > 0:
            x = instance_norm()(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.ZeroPadding2D(1)(x)
    logits = keras.layers.Conv2D(1, 4, kernel_initializer=conv_init())(x)
    return keras.Model(images, output_logits(logits), name=name)
