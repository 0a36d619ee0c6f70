"""What `fit` checks before a model trains on a user's data, and the conversions the fixes name.

A method's batches have a layout (`IMAGES`, `LABELS`, nested in tuples: `(IMAGES, LABELS)` for a
conditional GAN). Structure, dtypes and image shapes are read from the data's element spec, so
nothing is drawn from a dataset before training: drawing a batch would open an iterator and move a
seeded shuffle on, and the same seed would no longer give the same run. Values (the [-1, 1]
range, label ranges) can only be seen batch by batch, so they are checked by a map the pipeline
runs before each batch reaches the train step; a failed check stops `fit` before that batch
trains, and `fit_refusal` turns the error it raises into one line.
"""

import re

import numpy as np
import tensorflow as tf

from keras_gans.data.core import DataError
from keras_gans.data.sources import load_dataset

IMAGES = "images"
LABELS = "labels"  # int class indices in [0, num_classes)
LABELS_OR_UNKNOWN = "labels or -1"  # -1: a real image whose class is not given

# Images may overshoot [-1, 1] by rounding, never by more.
RANGE_SLACK = 1e-3
_REFUSAL = re.compile(r"<<keras_gans: (.*?)>>", re.DOTALL)


def rescale(data):
    """Pixels 0-255 (uint8 or float) to floats in [-1, 1], the range every network here takes;
    labels pass through. `data` is an array or a dataset of images or (images, labels)."""

    def scale(images):
        return tf.cast(images, tf.float32) / 127.5 - 1.0

    if isinstance(data, tf.data.Dataset):
        return data.map(lambda images, *labels: (scale(images), *labels) if labels else scale(images))
    return np.asarray(data, dtype="float32") / 127.5 - 1.0


def images_only(dataset):
    """A dataset of (images, labels) as images alone, for the methods that ignore labels."""
    return dataset.map(lambda images, *labels: images)


def step_batches(dataset, batches_per_step):
    """Groups each `batches_per_step` consecutive batches into one train step's element, for a
    WGAN's d_steps critic updates: critic update k then trains on the k-th batch exactly (the
    models take every k-th image of an element, see methods.gan)."""

    def interleave(batches):
        # (k, batch, ...) -> (batch, k, ...) -> (batch * k, ...): image i of batch k lands at i * k + k.
        order = [1, 0] + list(range(2, batches.shape.rank))
        return tf.reshape(tf.transpose(batches, order), [-1, *batches.shape[2:]])

    grouped = dataset.batch(batches_per_step, drop_remainder=True)
    return grouped.map(lambda *element: tf.nest.map_structure(interleave, element[0] if len(element) == 1 else element))


def from_directory(path, image_size=None, batch_size=64, *, labels=False, channels=None, seed=None):
    """A folder of images (with one sub-folder per class when `labels`) as the batches `fit`
    takes: floats in [-1, 1], square `image_size`, shuffled by `seed`; (images, labels) with
    `labels`."""
    return load_dataset(
        f"folder:{path}", image_size, batch_size, channels=channels, with_labels=labels, seed=seed
    ).dataset


def _describe(layout):
    if isinstance(layout, tuple):
        return "(" + ", ".join(_describe(part) for part in layout) + ")"
    return "labels" if layout != IMAGES else "images"


def _describe_spec(spec):
    if isinstance(spec, (tuple, list)):
        return "(" + ", ".join(_describe_spec(part) for part in spec) + ")"
    if isinstance(spec, dict):
        return "a dict of " + ", ".join(spec)
    return f"{spec.dtype.name} {list(spec.shape)}"


def check_spec(spec, layout, *, model_name, image_shape=None, batches_per_step=1):
    """Refuses (DataError, one line) data whose element spec does not match the method's
    `layout`: wrong nesting, labels given to a method that ignores them or missing where it needs
    them, unbatched or mis-sized images, integer pixels, one-hot labels."""
    try:
        tf.nest.assert_same_structure(layout, spec, check_types=False)
    except (ValueError, TypeError):
        raise DataError(_structure_refusal(spec, layout, model_name)) from None
    for leaf, leaf_layout in zip(tf.nest.flatten(spec), tf.nest.flatten(layout)):
        if leaf_layout == IMAGES:
            _check_images(leaf, model_name, image_shape, batches_per_step)
        else:
            _check_labels(leaf, model_name)


def _structure_refusal(spec, layout, model_name):
    wanted, got = _describe(layout), _describe_spec(spec)
    if layout == IMAGES:
        fix = (
            "drop the labels with keras_gans.data.images_only(dataset) (and for pixels 0-255, as Keras' "
            "image_dataset_from_directory gives, images_only(rescale(dataset)))"
            if len(tf.nest.flatten(spec)) == 2
            else ""
        )
        return f"{model_name} trains on images alone, got {got} batches; {fix or 'give it image batches alone'}"
    if layout == (IMAGES, LABELS) and not isinstance(spec, (tuple, list)):
        fix = "give it labelled batches, such as keras_gans.data.from_directory(path, labels=True)"
    else:
        fix = f"make each element {wanted}"
    return f"{model_name} trains on {wanted} batches, got {got}; {fix}"


def _check_images(spec, model_name, image_shape, batches_per_step):
    shape = spec.shape
    if shape.rank == 3:
        raise DataError(f"{model_name} got single images {list(shape)}, not batches; batch them: dataset.batch(64)")
    if shape.rank != 4:
        raise DataError(
            f"{model_name} trains on image batches [batch, height, width, channels], got {_describe_spec(spec)}; "
            "add a channels axis to grey images: images[..., None]"
        )
    if not spec.dtype.is_floating:
        raise DataError(
            f"{model_name} got {spec.dtype.name} images; the networks take floats in [-1, 1]: "
            "convert with keras_gans.data.rescale(data)"
        )
    if image_shape is not None and tuple(shape[1:3]) == tuple(image_shape[:2]) and shape[3] != image_shape[2]:
        raise DataError(
            f"{model_name}'s networks take {image_shape[2]}-channel images, got {shape[3]}-channel ones; convert them "
            f"(keras_gans.data.from_directory(path, channels={image_shape[2]}), or "
            f"color_mode={'grayscale' if image_shape[2] == 1 else 'rgb'!r} in Keras' image_dataset_from_directory)"
        )
    if image_shape is not None and tuple(shape[1:]) != tuple(image_shape):
        have = "x".join("?" if d is None else str(d) for d in shape[1:])
        raise DataError(
            f"{model_name}'s networks take {'x'.join(map(str, image_shape))} images, got {have}; "
            "resize the data (keras_gans.data.from_directory(path, image_size=...)) or build the model "
            f"with image_shape={tuple(shape[1:])}"
        )
    size = shape[0]
    if batches_per_step > 1 and size is not None and size % batches_per_step:
        raise DataError(_step_message(model_name, batches_per_step, size))


def _step_message(model_name, batches_per_step, size=None):
    got = (
        f"got a batch of {size}"
        if size is not None
        else f"got a batch whose size is not a multiple of {batches_per_step}"
    )
    return (
        f"{model_name} makes d_steps={batches_per_step} critic updates per train step, each on its own "
        f"batch, so a batch must hold {batches_per_step} x batch_size images, {got}; group batches with "
        f"keras_gans.data.step_batches(dataset, {batches_per_step})"
    )


def _check_labels(spec, model_name):
    if spec.shape.rank == 2 and spec.shape[-1] not in (None, 1):
        raise DataError(
            f"{model_name} takes class indices [batch], got one-hot labels {list(spec.shape)}; "
            "convert with tf.argmax(labels, axis=-1)"
        )
    if spec.shape.rank not in (1, 2) or not spec.dtype.is_integer:
        raise DataError(
            f"{model_name} takes integer class indices [batch] as labels, got {_describe_spec(spec)}; "
            "cast them: tf.cast(labels, 'int32')"
        )


def spec_of_arrays(data):
    """The element spec `fit` would see for arrays (or nests of arrays)."""
    return tf.nest.map_structure(
        lambda array: tf.TensorSpec((None, *np.shape(array)[1:]), tf.as_dtype(np.asarray(array).dtype)), data
    )


def _range_assertions(tensor, layout, num_classes, batches_per_step, model_name):
    """The value checks of one leaf, as assert ops whose message `fit_refusal` reads back."""
    if layout == IMAGES:
        low, high = tf.reduce_min(tensor), tf.reduce_max(tensor)
        messages = tf.constant(
            [
                "images must be floats in [-1, 1], got values above 1.5 and none below 0, as pixels 0-255 "
                "are; convert with keras_gans.data.rescale(data)",
                "images must be floats in [-1, 1], got values outside it; rescale them to [-1, 1]",
            ]
        )
        which = tf.where(tf.logical_and(low >= 0.0, high > 1.5), 0, 1)
        inside = tf.logical_and(low >= -1.0 - RANGE_SLACK, high <= 1.0 + RANGE_SLACK)
        asserts = [tf.debugging.Assert(inside, [tf.strings.join(["<<keras_gans: ", messages[which], ">>"])])]
        if batches_per_step > 1:
            divides = tf.equal(tf.shape(tensor)[0] % batches_per_step, 0)
            asserts.append(
                tf.debugging.Assert(divides, [f"<<keras_gans: {_step_message(model_name, batches_per_step)}>>"])
            )
        return asserts
    lowest = -1 if layout == LABELS_OR_UNKNOWN else 0
    low, high = tf.reduce_min(tensor), tf.reduce_max(tensor)
    ok = tf.logical_or(tf.size(tensor) == 0, low >= lowest)
    if num_classes:
        ok = tf.logical_and(ok, tf.logical_or(tf.size(tensor) == 0, high < num_classes))
    top = f"{num_classes - 1}" if num_classes else "the last class"
    return [
        tf.debugging.Assert(
            ok, [f"<<keras_gans: labels must be class indices {lowest}..{top}; relabel the data to that range>>"]
        )
    ]


def checked_values(dataset, layout, *, model_name, num_classes=None, batches_per_step=1):
    """`dataset` with each batch's values checked (see the module docstring) before it trains."""

    def check(*element):
        element = element[0] if len(element) == 1 else element
        leaves = tf.nest.flatten(element)
        asserts = []
        for tensor, leaf_layout in zip(leaves, tf.nest.flatten(layout)):
            asserts += _range_assertions(tensor, leaf_layout, num_classes, batches_per_step, model_name)
        with tf.control_dependencies(asserts):
            return tf.nest.pack_sequence_as(element, [tf.identity(tensor) for tensor in leaves])

    return dataset.map(check)


def checked_arrays(arrays, layout, *, model_name, num_classes=None):
    """Raises, as `checked_values` would in the pipeline, if in-memory arrays hold bad values."""
    for array, leaf_layout in zip(tf.nest.flatten(arrays), tf.nest.flatten(layout)):
        _range_assertions(tf.constant(array), leaf_layout, num_classes, 1, model_name)


def array_steps(arrays, batch_size, batches_per_step, shuffle, seed):
    """Arrays as a dataset whose elements hold `batches_per_step` batches of `batch_size`: one
    train step of a model with several discriminator updates per step. The remainder is
    dropped, as a step can only take whole batches."""
    count = len(tf.nest.flatten(arrays)[0])
    step = batch_size * batches_per_step
    if count < step:
        raise DataError(
            f"{batches_per_step} discriminator updates of batch_size {batch_size} need {step} images a step, "
            f"got {count}; pass more images or a smaller batch_size"
        )
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(step, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def fit_refusal(error):
    """The one-line refusal a value check raised inside `fit`, or None for any other error."""
    found = _REFUSAL.search(str(getattr(error, "message", error)))
    return found.group(1) if found else None
