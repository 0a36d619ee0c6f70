"""Augmentation of image batches inside tf.data.

Each augmentation is expressed as a per-image map from output pixels to input pixels, and a
combination ("jitter+affine") is the product of those maps, so a batch is resampled exactly once
(one bilinear interpolation, no accumulated blur) by a single ImageProjectiveTransformV3 op, the
kernel Keras' RandomRotation / RandomTranslation / RandomZoom use. Pixels that come from outside
the image take the background value -1. Randomness is stateless and driven by a seed per batch,
so a seeded pipeline is reproducible.

- "jitter" is CycleGAN's: resize up to 286/256 of the size (32 -> 36, 256 -> 286), crop a random
  size x size window (integer offset in the enlarged image) and flip horizontally with p = 0.5.
  The enlargement maps corner pixels onto corner pixels, so it never samples outside the image.
- "affine" is torchvision's RandomAffine(degrees=30, translate=(0.1, 0.3), scale=(0.8, 1.2)) about
  the image centre: rotation uniform in [-30, 30] degrees, scale uniform in [0.8, 1.2], and shifts
  uniform in [-0.1, 0.1] x width horizontally and [-0.3, 0.3] x height vertically (torchvision's
  meaning of translate=(a, b): a is the horizontal bound, b the vertical one; shifts are not
  rounded to whole pixels).
"""

import math

import tensorflow as tf

from keras_gans.data.core import DataError

AUGMENTATIONS = ("jitter", "affine", "jitter+affine")
JITTER_ENLARGEMENT = 286 / 256
MAX_ROTATION_DEGREES = 30.0
MAX_SHIFT = (0.1, 0.3)  # (horizontal, vertical), as fractions of the size
SCALE_RANGE = (0.8, 1.2)
FILL_VALUE = -1.0


def check_augmentation(name):
    """Reject an unknown augmentation name before any data is read."""
    if name is not None and name not in AUGMENTATIONS:
        raise DataError(f"unknown augmentation {name!r}; use one of {', '.join(AUGMENTATIONS)} or None")


def augment_batch(images, seed, name):
    """Augment float32 (B, S, S, C) images in [-1, 1]; `seed` is a shape-(2,) integer tensor."""
    check_augmentation(name)
    batch = tf.shape(images)[0]
    size = images.shape[1]
    jitter_seed, affine_seed = tf.unstack(tf.random.split(seed, 2))
    transform = tf.eye(3, batch_shape=[batch])
    if "jitter" in name.split("+"):
        transform = transform @ _jitter_maps(jitter_seed, batch, size)
    if "affine" in name.split("+"):
        transform = transform @ _affine_maps(affine_seed, batch, size)
    return _warp(images, transform)


def _jitter_maps(seed, batch, size):
    """Output -> input maps of enlarge, random crop, random horizontal flip."""
    enlarged = round(size * JITTER_ENLARGEMENT)
    offset_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
    offsets = tf.random.stateless_uniform([batch, 2], offset_seed, 0, enlarged - size + 1, tf.int32)
    offset_x, offset_y = tf.unstack(tf.cast(offsets, tf.float32), axis=1)
    flip = tf.random.stateless_uniform([batch], flip_seed) < 0.5
    ratio = (size - 1) / (enlarged - 1)  # enlarged pixel -> source pixel, corners aligned
    scale_x = tf.where(flip, -ratio, ratio)
    start_x = ratio * (offset_x + tf.where(flip, size - 1.0, 0.0))
    zeros = tf.zeros([batch])
    return _affine_rows(scale_x, zeros, start_x, zeros, zeros + ratio, ratio * offset_y)


def _affine_maps(seed, batch, size):
    """Output -> input maps of rotation, scale and shift about the centre (the inverse of the forward
    transform out = centre + shift + scale * R(angle) (in - centre))."""
    angle_seed, scale_seed, x_seed, y_seed = tf.unstack(tf.random.split(seed, 4))
    max_angle = math.radians(MAX_ROTATION_DEGREES)
    angle = tf.random.stateless_uniform([batch], angle_seed, -max_angle, max_angle)
    scale = tf.random.stateless_uniform([batch], scale_seed, *SCALE_RANGE)
    shift_x = tf.random.stateless_uniform([batch], x_seed, -MAX_SHIFT[0], MAX_SHIFT[0]) * size
    shift_y = tf.random.stateless_uniform([batch], y_seed, -MAX_SHIFT[1], MAX_SHIFT[1]) * size
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    centre = (size - 1) / 2
    source_x, source_y = centre + shift_x, centre + shift_y
    return _affine_rows(
        cos, sin, centre - cos * source_x - sin * source_y, -sin, cos, centre + sin * source_x - cos * source_y
    )


def _affine_rows(a, b, c, d, e, f):
    """(B, 3, 3) matrices [[a, b, c], [d, e, f], [0, 0, 1]] from per-image coefficients."""
    zeros, ones = tf.zeros_like(a), tf.ones_like(a)
    return tf.reshape(tf.stack([a, b, c, d, e, f, zeros, zeros, ones], axis=1), [-1, 3, 3])


def _warp(images, transform):
    """Resample each image at transform @ (x, y, 1) of every output pixel (x = column, y = row)."""
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=tf.reshape(transform, [-1, 9])[:, :8],
        output_shape=tf.shape(images)[1:3],
        fill_value=FILL_VALUE,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
