"""The registry of named sources and the one pipeline every source goes through.

Pipeline, per domain: decode -> resize (short side to size, centre crop) -> channels -> uint8
-> cache in memory (when small) -> shuffle (reshuffled each epoch) -> [repeat, for the smaller of two
unpaired domains] -> batch (drop_remainder) -> float32 in [-1, 1] -> augment -> prefetch.
Caching uint8 before shuffle keeps the cache 4x smaller than float and leaves augmentation fresh
every epoch; augmenting whole batches runs one vectorised op per batch. Embedded and small folder
sources are decoded and resized up front, so they are in memory from the start and not cached twice.
"""

import numbers
import os

import tensorflow as tf

from keras_gans.data import core
from keras_gans.data.augment import augment_batch, check_augmentation
from keras_gans.data.core import DataError, ImageData, MissingSplitError
from keras_gans.data.embedded import load_digits, load_digits_m
from keras_gans.data.folders import load_folder
from keras_gans.data.tfds_sources import load_tfds

EMBEDDED = {"digits": load_digits, "digits-m": load_digits_m}
TFDS_ALIASES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar10",
    "svhn": "svhn_cropped",
    "horse2zebra": "cycle_gan/horse2zebra",
}
PAIRS = {"digits2digits-m": ("digits", "digits-m"), "mnist2svhn": ("mnist", "svhn")}
MIN_IMAGE_SIZE = 8
UNPAIRED_IMAGE_SIZE = 256  # CycleGAN's, for translation data given no size
SHUFFLE_BUFFER_BYTES = 256_000_000  # bound on the shuffle buffer of a source too big to cache


def dataset_names():
    """Registered names, for help text: sources for load_dataset, then pairs for load_unpaired."""
    return [*EMBEDDED, *TFDS_ALIASES, *PAIRS]


def domain_names(spec):
    """The two source names of `A,B` or of a registered pair (`digits2digits-m`); None for any
    other spec (one source, a folder holding trainA/ and trainB/, a TFDS CycleGAN name)."""
    if spec in PAIRS:
        return PAIRS[spec]
    if "," not in spec:
        return None
    names = tuple(part.strip() for part in spec.split(","))
    if len(names) != 2 or not all(names):
        raise DataError(f"unpaired spec {spec!r} must name exactly two domains; pass PATH_A,PATH_B")
    return names


def load_dataset(
    name,
    image_size=None,
    batch_size=64,
    *,
    channels=None,
    with_labels=False,
    split="train",
    shuffle=True,
    seed=None,
    augment=None,
    batches_per_step=1,
):
    """Batches of one source for one epoch: images, or (images, int32 labels) with `with_labels`.

    `name` is a registered name, `tfds:<name>`, `folder:<path>` or an existing folder. `image_size`
    None keeps the source's own size; `channels` None keeps its own channels (1 or 3 forces them).
    With `batches_per_step` k > 1 each element holds the k batches of one train step (a critic's
    k updates), batch_size x k images.
    """
    _check_batch_size(batch_size)
    _check_image_size(image_size, required=False)
    _check_channels(channels, required=False)
    check_augmentation(augment)
    examples = _examples(name, split, image_size)
    if with_labels and examples.class_names is None:
        raise core.UnlabelledError(
            f"dataset '{name}' has no labels; use a folder with one sub-folder per class, "
            "or a labelled dataset such as mnist"
        )
    _check_enough(name, examples.num_examples, batch_size, batches_per_step)
    channels = channels or examples.channels
    dataset = _batches(examples, channels, batch_size * batches_per_step, with_labels, shuffle, seed, augment)
    return ImageData(
        dataset.prefetch(tf.data.AUTOTUNE),
        (examples.size, examples.size, channels),
        examples.num_examples,
        _num_classes(examples.class_names),
        examples.class_names,
    )


def load_unpaired(
    spec, image_size, batch_size=1, *, channels=3, split="train", seed=None, augment=None, with_labels=False
):
    """Batches of two unpaired domains, `(images_a, images_b)`; with `with_labels`,
    `((images_a, labels_a), (images_b, labels_b))`.

    `spec` is `PATH_A,PATH_B` (each side any load_dataset name), a folder holding `trainA/` and
    `trainB/` (`testA/`, `testB/` for split="test"), a TFDS CycleGAN name (`horse2zebra`,
    `tfds:cycle_gan/<config>`) or a registered pair (`digits2digits-m`, `mnist2svhn`). An epoch
    covers the larger domain once; the smaller one is reshuffled and repeated to keep pace.
    """
    _check_batch_size(batch_size)
    _check_image_size(image_size, required=True)
    _check_channels(channels, required=True)
    check_augmentation(augment)
    (name_a, domain_a), (name_b, domain_b) = _domains(spec, split, image_size)
    for name, domain in ((name_a, domain_a), (name_b, domain_b)):
        if with_labels and domain.class_names is None:
            raise DataError(f"domain '{name}' has no labels; use labelled domains such as digits2digits-m")
    if with_labels:
        check_same_classes((name_a, name_b), domain_a.class_names, domain_b.class_names)
    num_examples = max(domain_a.num_examples, domain_b.num_examples)
    _check_enough(spec, num_examples, batch_size)
    seed_b = None if seed is None else seed + 1  # distinct orders, so equal-sized domains never pair up
    batches = [
        _batches(
            domain,
            channels,
            batch_size,
            with_labels,
            True,
            domain_seed,
            augment,
            repeat=domain.num_examples < num_examples,
        )
        for domain, domain_seed in ((domain_a, seed), (domain_b, seed_b))
    ]
    dataset = tf.data.Dataset.zip(tuple(batches)).prefetch(tf.data.AUTOTUNE)
    shared_classes = domain_a.class_names if domain_a.class_names == domain_b.class_names else None
    return ImageData(
        dataset,
        (image_size, image_size, channels),
        num_examples,
        _num_classes(shared_classes),
        shared_classes,
        domain_sizes=(domain_a.num_examples, domain_b.num_examples),
    )


def check_same_classes(names, classes_a, classes_b):
    """Two labelled domains must share their classes, or a label would mean two things."""
    if classes_a != classes_b:
        raise DataError(
            f"domains '{names[0]}' and '{names[1]}' have different classes; use domains with the same labels"
        )


def _examples(name, split, image_size):
    """Resolve a source name to its unbatched examples."""
    if name in EMBEDDED:
        return EMBEDDED[name](split, image_size)
    if name in TFDS_ALIASES:
        return load_tfds(TFDS_ALIASES[name], split, image_size)
    if name.startswith("tfds:"):
        return load_tfds(name.removeprefix("tfds:"), split, image_size)
    if name.startswith("folder:"):
        return load_folder(name.removeprefix("folder:"), split, image_size)
    if name in PAIRS:
        raise DataError(f"'{name}' names two unpaired domains; load it with load_unpaired")
    if os.path.isdir(os.path.expanduser(name)) or os.sep in name:
        return load_folder(name, split, image_size)
    raise DataError(
        f"unknown dataset {name!r}; use one of {', '.join([*EMBEDDED, *TFDS_ALIASES])}, tfds:<name> or "
        f"folder:<path> (for translation also {', '.join(PAIRS)} or A,B)"
    )


def _domains(spec, split, image_size):
    """The two domains of an unpaired spec, each as (name, examples)."""
    names = domain_names(spec)
    if names:
        return [(name, _examples(name, split, image_size)) for name in names]
    reason = ""
    if spec in TFDS_ALIASES or spec.startswith("tfds:"):
        tfds_name = TFDS_ALIASES.get(spec) or spec.removeprefix("tfds:")
        try:
            return [(f"{spec}:{split}{side}", load_tfds(tfds_name, f"{split}{side}", image_size)) for side in "AB"]
        except MissingSplitError as err:  # one dataset (mnist), or a CycleGAN pair without this split
            reason = f" ({err})"
    else:
        root = os.path.expanduser(spec.removeprefix("folder:"))
        sides = [os.path.join(root, f"{split}{side}") for side in "AB"]
        if all(os.path.isdir(side) for side in sides):
            return [(side, load_folder(side, "train", image_size)) for side in sides]
    raise DataError(
        f"cannot read two domains from {spec!r}{reason}; pass PATH_A,PATH_B, a folder holding {split}A/ and "
        f"{split}B/, a TFDS CycleGAN name such as horse2zebra, or one of {', '.join(PAIRS)}"
    )


def _batches(examples, channels, batch_size, with_labels, shuffle, seed, augment, repeat=False):
    """The shared pipeline from unbatched examples to float batches (not yet prefetched)."""
    cache = not examples.in_memory and core.fits_in_memory(examples.num_examples, examples.size, channels)
    dataset = examples.dataset.map(
        lambda image, label: (_standardize(image, examples.size, channels), label), num_parallel_calls=tf.data.AUTOTUNE
    )
    if cache:
        dataset = dataset.cache()
    if shuffle:
        buffer = _shuffle_buffer(examples, channels, whole=cache or examples.in_memory)
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return _finish(dataset, with_labels, augment, seed)


def _standardize(image, size, channels):
    """Any uint8 image -> uint8 (size, size, channels): short side resized to size, centre-cropped."""
    resize = tuple(image.shape[:2]) != (size, size)
    if not resize and image.shape[-1] == channels:
        return image
    image = tf.cast(image, tf.float32)
    if resize:
        image = _resize_and_crop(image, size)
    image = _convert_channels(image, channels)
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _resize_and_crop(image, size):
    height_width = tf.cast(tf.shape(image)[:2], tf.float32)
    scaled = tf.round(height_width * (size / tf.reduce_min(height_width)))
    resized = tf.image.resize(image, tf.maximum(tf.cast(scaled, tf.int32), size), antialias=True)
    return tf.image.resize_with_crop_or_pad(resized, size, size)


def _convert_channels(image, channels):
    have = image.shape[-1]
    if have == channels:
        return image
    if (have, channels) == (1, 3):
        return tf.image.grayscale_to_rgb(image)
    if (have, channels) == (3, 1):
        return tf.image.rgb_to_grayscale(image)
    raise DataError(f"cannot convert {have}-channel images to {channels} channels; use channels=1 or 3")


def _finish(batches, with_labels, augment, seed):
    """uint8 batches -> float32 in [-1, 1], augmented with a fresh seed per batch when asked."""

    def finish(images, labels, batch_seed=None):
        images = tf.cast(images, tf.float32) / 127.5 - 1.0
        if augment is not None:
            images = augment_batch(images, batch_seed, augment)
        return (images, labels) if with_labels else images

    if augment is None:
        return batches.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(batches, seeds).map(
        lambda element, batch_seed: finish(*element, batch_seed), num_parallel_calls=tf.data.AUTOTUNE
    )


def _shuffle_buffer(examples, channels, whole):
    """The whole split when it is in memory, else as many images as fit in SHUFFLE_BUFFER_BYTES."""
    if whole:
        return examples.num_examples
    per_image = examples.size * examples.size * channels
    return max(1, min(examples.num_examples, SHUFFLE_BUFFER_BYTES // per_image))


def _num_classes(class_names):
    return len(class_names) if class_names else None


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_batch_size(batch_size):
    if not _is_int(batch_size) or batch_size <= 0:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}; pass e.g. batch_size=64")


def _check_image_size(image_size, required):
    if image_size is None and not required:
        return
    if not _is_int(image_size) or image_size < MIN_IMAGE_SIZE:
        raise DataError(
            f"image_size must be an integer >= {MIN_IMAGE_SIZE}, got {image_size!r}; pass e.g. image_size=32"
        )


def _check_channels(channels, required):
    if channels is None and not required:
        return
    if not _is_int(channels) or channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, got {channels!r}; pass channels=1 (grayscale) or 3 (RGB)")


def _check_enough(name, num_examples, batch_size, batches_per_step=1):
    if num_examples < batch_size * batches_per_step:
        step = f" x {batches_per_step} batches per train step" if batches_per_step > 1 else ""
        raise DataError(
            f"dataset '{name}' has {num_examples} images, fewer than batch_size {batch_size}{step}; "
            "lower batch_size or add images"
        )
