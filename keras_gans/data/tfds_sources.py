"""TensorFlow Datasets sources, read from TFDS_DATA_DIR and downloaded only when not already there."""

import os

import tensorflow as tf

from keras_gans.data.core import DataError, Examples, MissingSplitError


def load_tfds(name, split, image_size):
    """One split of a TFDS image dataset; labels come from its 'label' class feature when it has one."""
    builder = _prepared_builder(name)
    features = builder.info.features
    if "image" not in features:
        raise DataError(f"TFDS dataset {name!r} has no 'image' feature; pick an image dataset")
    height, width, channels = features["image"].shape
    size = image_size or (min(height, width) if height and width else None)
    if size is None:
        raise DataError(f"TFDS dataset {name!r} has images of varying size; pass image_size")
    class_names = _class_names(features)

    def image_and_label(example):
        label = tf.cast(example["label"], tf.int32) if class_names else tf.constant(-1, tf.int32)
        return example["image"], label

    dataset = _split(builder, name, split)
    # TFDS asserts each split's size (from its dataset_info) as the dataset's cardinality.
    num_examples = int(dataset.cardinality())
    dataset = dataset.map(image_and_label, num_parallel_calls=tf.data.AUTOTUNE)
    return Examples(dataset, num_examples, channels or 3, size, class_names)


def _prepared_builder(name):
    """The dataset's builder, preparing (downloading) the data only when TFDS_DATA_DIR lacks it, so the
    network is never touched for data that is already there."""
    import tensorflow_datasets as tfds  # slow to import; only TFDS sources need it

    data_dir = os.environ.get("TFDS_DATA_DIR")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except ValueError as err:  # DatasetNotFoundError, unknown config or version
        reason = str(err).splitlines()[0]
        raise DataError(f"unknown TFDS dataset {name!r} ({reason}); check the name in the TFDS catalog") from err
    if not builder.is_prepared():
        try:
            builder.download_and_prepare()
        except Exception as err:  # network, disk and missing-dependency failures all mean "not available"
            where = data_dir or "~/tensorflow_datasets"
            raise DataError(
                f"TFDS dataset {name!r} is not in {where} and could not be downloaded "
                f"({type(err).__name__}); set TFDS_DATA_DIR to a folder that holds it, "
                "or run once with internet access"
            ) from err
    return builder


def _split(builder, name, split):
    try:
        return builder.as_dataset(split=split)
    except ValueError as err:  # unknown split name or malformed slice
        splits = ", ".join(builder.info.splits)
        raise MissingSplitError(f"TFDS dataset {name!r} has no split {split!r}; use one of {splits}") from err


def _class_names(features):
    import tensorflow_datasets as tfds

    label = features["label"] if "label" in features else None
    return list(label.names) if isinstance(label, tfds.features.ClassLabel) else None
