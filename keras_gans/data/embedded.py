"""Data that ships inside scikit-learn, so training works on a fresh machine with no download.

`digits` are scikit-learn's 1,797 real 8x8 handwritten digits; `digits-m` is their second domain,
built like MNIST-M: each digit is a mask blended with a colour patch of the two photos that
scikit-learn also ships (china.jpg and flower.jpg).
"""

import functools

import numpy as np
import sklearn.datasets
import tensorflow as tf

from keras_gans.data.core import Examples, MissingSplitError

NATIVE_SIZE = 28  # digits are drawn at MNIST's size unless asked otherwise
CLASS_NAMES = [str(digit) for digit in range(10)]
SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.2
SPLIT_SEED = 0
DIGITS_M_SEED = 0  # digits-m is one fixed dataset, whatever seed a run shuffles with
PATCH_CONTRAST = 0.4  # photo patches are scaled to [0, 0.4] so inverted strokes sit in [0.6, 1]


def load_digits(split, image_size):
    """`digits`: grayscale digits, ink +1 on a -1 background once the pipeline rescales them."""
    size = image_size or NATIVE_SIZE
    images01, labels = _digits_at(size)
    return _examples(_to_uint8(images01[..., None]), labels, split, "digits")


def load_digits_m(split, image_size):
    """`digits-m`: the same digits (same split indices) as strokes over colour photo patches."""
    size = image_size or NATIVE_SIZE
    _, labels = _digits_at(size)
    return _examples(_digits_m_at(size), labels, split, "digits-m")


def split_indices(split, num_examples, name="digits"):
    """The fixed held-out split: the same indices for digits and digits-m, from a seed-0 permutation."""
    if split not in SPLITS:
        raise MissingSplitError(f"dataset {name!r} has no split {split!r}; use 'train', 'test' or 'all'")
    if split == "all":
        return np.arange(num_examples)
    order = np.random.default_rng(SPLIT_SEED).permutation(num_examples)
    num_test = round(TEST_FRACTION * num_examples)
    return np.sort(order[:num_test] if split == "test" else order[num_test:])


def make_digits_m(images01, seed=DIGITS_M_SEED):
    """Colour digits from [0, 1] digit masks of shape (N, H, W) or (N, H, W, 1), as float32 (N, H, W, 3) in [0, 1].

    MNIST-M's trick, out = |patch - mask|, inverts the patch under the strokes. Patches are darkened to
    [0, PATCH_CONTRAST] first so strokes always differ from the background by at least
    1 - 2 * PATCH_CONTRAST per channel, and half of the images are inverted (dark strokes on a light
    patch) so both polarities occur. Deterministic given `seed`.
    """
    masks = np.asarray(images01, np.float32)
    masks = masks[..., 0] if masks.ndim == 4 else masks
    rng = np.random.default_rng(seed)
    patches = _photo_patches(rng, len(masks), masks.shape[1:3]) * PATCH_CONTRAST
    blended = np.abs(patches - masks[..., None])
    inverted = rng.random(len(masks)) < 0.5
    blended[inverted] = 1.0 - blended[inverted]
    return blended


def _examples(images, labels, split, name):
    index = split_indices(split, len(images), name)
    dataset = tf.data.Dataset.from_tensor_slices((images[index], labels[index]))
    return Examples(dataset, len(index), images.shape[-1], images.shape[1], CLASS_NAMES, in_memory=True)


@functools.lru_cache(maxsize=4)
def _digits_at(size):
    """All digits resized to `size` as float32 (N, size, size) in [0, 1], with int32 labels."""
    digits = sklearn.datasets.load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    # Bicubic keeps 8-pixel strokes crisper than bilinear; clipping removes its overshoot.
    resized = tf.image.resize(images, (size, size), method="bicubic").numpy()[..., 0]
    return _read_only(np.clip(resized, 0.0, 1.0)), _read_only(digits.target.astype(np.int32))


@functools.lru_cache(maxsize=4)
def _digits_m_at(size):
    images01, _ = _digits_at(size)
    return _read_only(_to_uint8(make_digits_m(images01, DIGITS_M_SEED)))


def _photo_patches(rng, count, shape):
    """Random square crops of the sample photos, 1 to 3 times the output size, resized to `shape`."""
    photos = np.stack(sklearn.datasets.load_sample_images().images).astype(np.float32) / 255.0
    photo_h, photo_w = photos.shape[1:3]
    limit = min(photo_h, photo_w)
    sides = rng.uniform(min(max(shape), limit), min(3 * max(shape), limit), count)
    tops = rng.uniform(0.0, photo_h - sides)
    lefts = rng.uniform(0.0, photo_w - sides)
    boxes = np.stack(
        [
            tops / (photo_h - 1),
            lefts / (photo_w - 1),
            (tops + sides - 1) / (photo_h - 1),
            (lefts + sides - 1) / (photo_w - 1),
        ],
        axis=1,
    )
    which = rng.integers(0, len(photos), count).astype(np.int32)
    patches = tf.image.crop_and_resize(photos, boxes.astype(np.float32), which, shape)
    return np.clip(patches.numpy(), 0.0, 1.0)


def _to_uint8(images01):
    return np.round(np.asarray(images01) * 255.0).astype(np.uint8)


def _read_only(array):
    """Cached arrays are shared between calls, so nobody may modify them."""
    array.flags.writeable = False
    return array
