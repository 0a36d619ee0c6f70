"""Small building blocks shared by the architecture builders."""

import math

import keras

from keras_gans.errors import UsageError

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


def upsampling_plan(image_size, bases=(4, 7, 5, 3)):
    """(base, doublings) with base * 2**doublings == image_size, the smallest base first tried.

    28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4), 48 -> (3, 4). Raises ValueError for sizes no
    stride-2 ladder reaches, naming sizes that work.
    """
    for base in bases:
        doublings = math.log2(image_size / base) if image_size >= base else -1
        if doublings >= 1 and doublings == int(doublings):
            return base, int(doublings)
    raise UsageError(
        f"image size {image_size} cannot be built by a stride-2 network; use a size such as "
        "28, 32, 56, 64 or 128 (a power of two times 4 or 7)"
    )


def output_image(x, name="image"):
    """Final tanh in float32, so mixed precision never rounds the images or the loss."""
    return keras.layers.Activation("tanh", dtype="float32", name=name)(x)


def output_logits(x, name="logits"):
    return keras.layers.Activation("linear", dtype="float32", name=name)(x)
