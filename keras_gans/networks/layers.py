"""Small building blocks shared by the architecture builders."""

import math

import keras
import tensorflow as tf
from keras import ops

from keras_gans.errors import ImageSizeError


# Radford et al. initialise every weight from N(0, 0.02) and BatchNorm's scale from N(1, 0.02).
def conv_init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def batch_norm(name=None):
    """BatchNorm whose statistics span the global batch under tf.distribute.

    Per-replica statistics would make a 2-replica step differ from the single-device one.
    """
    return keras.layers.BatchNormalization(
        synchronized=True,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        name=name,
    )


def instance_norm(name=None):
    """Instance normalisation (Ulyanov et al. 2016), as the CycleGAN and pix2pix code use it:
    per image and channel, with no learned scale or offset. Per-image statistics also make a
    network's output for one image independent of its batch mates, and so of the replica split."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False, name=name)


@keras.saving.register_keras_serializable(package="keras_gans")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring the image at its border (no repeated edge pixel).

    Zero padding would give every convolution a dark frame to see; reflection keeps the border
    statistics like the interior, which removes edge artefacts in image-to-image generators.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, images):
        p = self.padding
        return ops.pad(images, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        height, width = (None if size is None else size + 2 * self.padding for size in (height, width))
        return batch, height, width, channels

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleModulation(keras.layers.Layer):
    """Scales and shifts normalised features by an affine map of a style code: x * (1 + gamma(s))
    + beta(s), per image and channel (adaptive instance norm, Huang & Belongie 2017).

    A style fed in as constant image channels would not work here: every convolution is
    followed by instance norm, which subtracts exactly such a per-channel constant. Starts
    close to plain instance norm, with a small effect of the code that the losses can grow.
    """

    def build(self, input_shape):
        features_shape, style_shape = input_shape
        channels = features_shape[-1]
        self.affine = keras.layers.Dense(2 * channels, kernel_initializer=conv_init(), name="affine")
        self.affine.build(style_shape)

    def call(self, inputs):
        features, style = inputs
        gamma, beta = ops.split(ops.cast(self.affine(style), features.dtype), 2, axis=-1)
        return features * (1.0 + gamma[:, None, None, :]) + beta[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def upsampling_plan(image_size, bases=(4, 7, 5, 3)):
    """(base, doublings) with base * 2**doublings == image_size, the smallest base first tried.

    28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4), 48 -> (3, 4). Raises ImageSizeError for sizes no
    stride-2 ladder reaches, naming sizes that work.
    """
    for base in bases:
        doublings = math.log2(image_size / base) if image_size >= base else -1
        if doublings >= 1 and doublings == int(doublings):
            return base, int(doublings)
    raise ImageSizeError(
        f"image size {image_size} cannot be built by a stride-2 network; use a size such as "
        "28, 32, 56, 64 or 128 (a power of two times 4 or 7)"
    )


def output_image(x, name="image"):
    """Final tanh in float32, so mixed precision never rounds the images or the loss."""
    return keras.layers.Activation("tanh", dtype="float32", name=name)(x)


def output_logits(x, name="logits"):
    return keras.layers.Activation("linear", dtype="float32", name=name)(x)


@keras.saving.register_keras_serializable(package="keras_gans")
class MinibatchStandardDeviation(keras.layers.Layer):
    """Karras et al. 2018: one more channel holding how much the images of a small group differ
    (their standard deviation, averaged over positions and channels), so the discriminator can
    tell a batch of near-copies, a collapsed generator's output, from a varied real one. Features
    of any rank: an MLP's (batch, units) get one more unit.

    Groups are contiguous runs of `group_size` images, so a replica's share of a batch holds
    whole groups and a mirrored step equals the single-device one.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def group_of(self, features):
        """The largest divisor of `group_size` that divides the batch (a last, smaller batch)."""
        if features.shape[0] is not None:
            return math.gcd(features.shape[0], self.group_size)
        batch, group = ops.shape(features)[0], 1
        for divisor in range(2, self.group_size + 1):
            if self.group_size % divisor == 0:
                group = ops.where(batch % divisor == 0, divisor, group)
        return group

    def call(self, features):
        group = self.group_of(features)
        x = ops.cast(features, "float32")
        grouped = ops.reshape(x, (-1, group) + tuple(x.shape[1:]))
        spread = ops.sqrt(ops.var(grouped, axis=1) + 1e-8)  # (groups, H, W, C) or (groups, units)
        per_group = ops.mean(spread, axis=tuple(range(1, len(spread.shape))))
        per_image = ops.reshape(ops.repeat(per_group, group, axis=0), (-1,) + (1,) * (len(x.shape) - 1))
        channel = ops.broadcast_to(per_image, ops.shape(x)[:-1] + (1,))
        return ops.concatenate([features, ops.cast(channel, features.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="keras_gans")
class BicubicResize(keras.layers.Layer):
    """Square images resized to `size` x `size` as `keras.ops.image.resize(..., "bicubic")` does
    (the resize the embedded digits are made with), written as two fixed matrix products: the
    resize op has no XLA kernel (`--xla` failed to compile it), and the products are the same
    linear map, equal to the op within float rounding."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def build(self, input_shape):
        height, width = input_shape[1:3]
        if height != width:
            raise ValueError(f"BicubicResize takes square images, got {height}x{width}")
        # Column k is where input row k lands: the resize of a one-hot column. Computed eagerly
        # and kept as NumPy, so a first call inside a tf.function leaves no graph tensor behind.
        with tf.init_scope():
            one_hot = ops.reshape(ops.eye(height), (height, height, 1, 1))
            resized = ops.image.resize(one_hot, (self.size, 1), interpolation="bicubic", antialias=False)
            self.matrix = ops.convert_to_numpy(ops.transpose(ops.reshape(resized, (height, self.size))))

    def call(self, images):
        matrix = ops.cast(self.matrix, images.dtype)  # (size, input size)
        return ops.einsum("ih,bhwc,jw->bijc", matrix, images, matrix)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}
