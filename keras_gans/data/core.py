"""Types shared by every data source: the user-facing error, the batched result and the unbatched source."""

import dataclasses

import tensorflow as tf

from keras_gans.errors import UsageError

# Above this many bytes of decoded uint8 pixels a source is streamed instead of held in memory
# (about 120k RGB images at 64 px). Read at call time so tests can lower it.
MEMORY_BUDGET_BYTES = 1_500_000_000


class DataError(UsageError):
    """A data problem the user can fix; the message is one line naming the problem and the fix."""


class UnlabelledError(DataError):
    """Labels were asked of a source that has none."""


class MissingSplitError(DataError):
    """The data exists but has no such split: callers may fall back to another split, which
    they must not do for data that could not be read at all."""


@dataclasses.dataclass
class ImageData:
    """What a training run needs: batches for one epoch plus what the networks must be sized to."""

    dataset: tf.data.Dataset
    image_shape: tuple
    num_examples: int
    num_classes: int | None
    class_names: list | None
    manifest: dict | None = None  # what a run must record to be reproduced (a labelled subset)
    domain_sizes: tuple | None = None  # two unpaired domains: the images of A and of B (num_examples paces an epoch)


@dataclasses.dataclass(frozen=True)
class Examples:
    """One split of a source before the shared pipeline resizes, caches, shuffles and batches it.

    `dataset` yields `(image, label)`: a uint8 HWC image of any size and an int32 label (-1 when the
    source has no labels). `size` is the square size the images must end up at. `in_memory` sources
    already hold decoded images at that size, so the pipeline does not cache a second copy.
    """

    dataset: tf.data.Dataset
    num_examples: int
    channels: int
    size: int
    class_names: list | None = None
    in_memory: bool = False


def fits_in_memory(num_examples, size, channels):
    """Whether the decoded uint8 images are small enough to keep in memory."""
    return num_examples * size * size * channels <= MEMORY_BUDGET_BYTES


def without_autotuning(dataset):
    """`dataset` read with tf.data's autotuning off, unless its options set any autotune field.

    On this project's 2-core CPU some epochs read with it ran every step in a whole multiple of
    25.6 ms, up to twice as slow, and none without it; the batches are the same either way
    (docs/benchmarks.md, "tf.data's autotuning, epoch by epoch").
    """
    if dataset.options().autotune != tf.data.experimental.AutotuneOptions():
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
