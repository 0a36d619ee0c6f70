"""Reference classifiers ("judges"): CNNs trained once on a labelled dataset's real images, cached,
and used to score samples (keras_gans.metrics.classifier_scores).

Two judges that differ in architecture and training, so that a generator is not judged by one
network's blind spots: the quick start's samples read 74.9% confident and 10/10 classes to the
small CNN, while an independent classifier found 65.8% and ones, sevens and eights under 4% each
(issue 16). Each is trained with a fixed seed, so a fresh cache gives the same judge; on real test
images they agree (as `evaluate` prints them: the held-out digits at 28 px 97.5% and 99.4% right,
96.9% and 97.2% confident; 2,000 MNIST test images 98.9% right by both, 96.6% and 96.7% confident).

Not Inception: no weights to download, seconds to train on a CPU, and their features know digits.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import random
import sys
import time
import zipfile

import keras
import numpy as np
import tensorflow as tf

from keras_gans.data import DataError, load_dataset
from keras_gans.data.core import MissingSplitError
from keras_gans.progress import duration, plural

# What loading a truncated, corrupt or foreign .keras file raises (keras says "File not found"
# for a file that is not a whole zip).
_UNREADABLE = (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile)
# What tf.compat.v1.random.get_seed reports as the global seed when none is set.
_TF_UNSET_SEED = 87654321

# Judge names, in the order evaluate reports them, with what sets each apart.
JUDGES = {
    "small": "small CNN",
    "deep": "deeper CNN with BatchNorm and augmented training",
}
SEED = 0  # of weights, dropout, augmentation and data order, for both judges
# Small sets need more passes; about 60k images seen is plenty for these networks.
EPOCHS = {"images": 60_000, "min": 2, "max": 25}

# Every choice in the deep judge's training is read from here and EPOCHS, so that its cache key
# (with the network's config) changes whenever the training does.
DEEP_TRAINING = {"learning_rate": 2e-3, "schedule": "cosine decay to 0", "batch_size": 128, "shuffle_seed": 1}


def cache_dir():
    root = os.environ.get("KERAS_GANS_CACHE") or pathlib.Path.home() / ".cache" / "keras_gans"
    return pathlib.Path(root) / "classifiers"


def build_classifier(image_shape, num_classes):
    """Judge 1: two conv blocks, a 128-unit feature layer (named `features`) and logits."""
    images = keras.Input(image_shape)
    x = images
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.3)(keras.layers.Flatten()(x))
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(images, logits, name="reference_classifier")


def build_deep_classifier(image_shape, num_classes):
    """Judge 2: four conv layers with BatchNorm, global average pooling, a 128-unit feature layer
    (named `features`) and logits; its first layers shift (up to 10%), rotate (10 degrees) and
    zoom (10%) the images it trains on, and pass them unchanged when it judges.

    Widths 24-96: on MNIST (2 epochs) 16-64 read the test digits 97.6% right and 92.5% confident,
    24-96 98.6% and 96.2%, 32-128 98.9% and 96.9% in about twice the time. BatchNorm's momentum is
    0.9: at Keras' 0.99 the moving statistics had not settled after the 110 steps of 10 epochs of
    the digits, and it read them 39% right. Every layer is named, so that its config (part of the
    cache key) is the same in any session.
    """
    images = keras.Input(image_shape, name="images")
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", name="shift")(images)
    x = keras.layers.RandomRotation(10 / 360, fill_mode="nearest", name="rotate")(x)
    x = keras.layers.RandomZoom(0.1, fill_mode="nearest", name="zoom")(x)
    for block, widths in enumerate(((24,), (48, 48), (96,))):
        if block:
            x = keras.layers.MaxPooling2D(name=f"pool_{block}")(x)
        for layer, filters in enumerate(widths):
            name = f"block_{block}_{layer}"
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_norm")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(keras.layers.GlobalAveragePooling2D(name="average")(x))
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(images, logits, name="deep_reference_classifier")


def reference_classifier(data, image_size=None, channels=None, epochs=None, verbose=0, judge="small"):
    """The cached `judge` (a key of JUDGES) for `data` at this size, trained on its train split if
    missing or unreadable."""
    if judge not in JUDGES:
        raise ValueError(f"unknown judge {judge!r}; use one of {', '.join(JUDGES)}")
    with _seeded(SEED):  # building or loading a network draws seeds too: none of it leaks out
        train = _train_split(data, image_size, channels, judge)
        path = cache_path(data, train.image_shape, train.num_classes, judge)
        if path.exists():
            try:
                return keras.models.load_model(path)
            except _UNREADABLE:  # a cache is rebuilt, not a reason to fail until someone deletes it
                print(f"cached classifier {path} is truncated or corrupt; training it again", file=sys.stderr)
    with _seeded(SEED):
        classifier = _train(data, image_size, channels, epochs, verbose, judge, path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.keras")
    classifier.save(tmp)
    os.replace(tmp, path)
    return classifier


def _train(data, image_size, channels, epochs, verbose, judge, cache):
    train = _train_split(data, image_size, channels, judge)  # its order is fixed here, from the seed
    epochs = epochs or max(EPOCHS["min"], min(EPOCHS["max"], EPOCHS["images"] // train.num_examples))
    if judge == "small":
        classifier = build_classifier(train.image_shape, train.num_classes)
        optimizer, name, augmented = keras.optimizers.Adam(1e-3), "reference classifier", ""
    else:
        classifier = build_deep_classifier(train.image_shape, train.num_classes)
        steps = epochs * (train.num_examples // DEEP_TRAINING["batch_size"])
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(DEEP_TRAINING["learning_rate"], steps))
        name, augmented = "second reference classifier", ", shifted, rotated and zoomed"
    classifier.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    print(
        f"training a {name} of {data} at {train.image_shape[0]}px first ({plural(epochs, 'epoch')} over "
        f"{train.num_examples} images{augmented}; once: it is cached in {cache})",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    classifier.fit(train.dataset, epochs=epochs, verbose=verbose, shuffle=False)  # data shuffles
    print(f"{name} trained in {duration(time.monotonic() - started)}", file=sys.stderr, flush=True)
    return classifier


@contextlib.contextmanager
def _seeded(seed):
    """Python's, NumPy's and TensorFlow's global seeds at `seed` inside, and put back after: a
    judge is the same whatever the process did before, and the process goes on as it was (real
    test images, shuffled from TensorFlow's global seed, were another subset after a judge was
    trained with keras.utils.set_random_seed)."""
    python, numpy = random.getstate(), np.random.get_state()
    tensorflow = tf.compat.v1.random.get_seed(0)[0]
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        tf.random.set_seed(None if tensorflow == _TF_UNSET_SEED else tensorflow)


def cache_path(data, image_shape, num_classes, judge="small"):
    """Where `judge` of `data` at `image_shape` is cached. The small judge's name predates the
    second judge and seeding (the same network and training), so its cached files stay in use; the
    deep judge's name carries a hash of its network's config and DEEP_TRAINING, so a change to
    either trains a new one instead of loading a stale one."""
    size, _, depth = image_shape
    stem = f"{_file_name(data)}-{size}px-{depth}ch"
    if judge == "small":
        return cache_dir() / f"{stem}.keras"
    network = build_deep_classifier(image_shape, num_classes).get_config()
    recipe = {"network": network, "training": DEEP_TRAINING, "epochs": EPOCHS, "seed": SEED}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return cache_dir() / f"{stem}-deep-{key}.keras"


def _file_name(data):
    """`data` (a name, `tfds:NAME` or a folder's path) as a cache file's name."""
    return data.replace("/", "_").replace(":", "_")


def _train_split(data, image_size, channels, judge):
    seed = 0 if judge == "small" else DEEP_TRAINING["shuffle_seed"]
    batch_size = 128 if judge == "small" else DEEP_TRAINING["batch_size"]
    return load_dataset(
        data, image_size, batch_size=batch_size, channels=channels, with_labels=True, split="train", seed=seed
    )


def label_mix(data):
    """The share of each class in `data`'s train split, the mix a generator learns; counted once
    and cached beside the judges (reading MNIST's 60,000 labels decodes every image, seconds a time)."""
    path = cache_dir() / f"{_file_name(data)}-label-mix.json"
    try:
        shares = np.asarray(json.loads(path.read_text()), "float64")
        if shares.ndim == 1 and len(shares) and np.isclose(shares.sum(), 1):
            return shares
    except (OSError, ValueError, TypeError):  # missing or damaged: counted again
        pass
    source = load_dataset(data, batch_size=1, with_labels=True, split="train", shuffle=False)
    counts = np.zeros(source.num_classes, "int64")
    for _, labels in source.dataset.unbatch().batch(10_000):  # batches of one never drop a remainder
        counts += np.bincount(labels.numpy(), minlength=len(counts))
    shares = counts / counts.sum()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two processes counting at once each write their own
    tmp.write_text(json.dumps(shares.tolist()))
    os.replace(tmp, path)
    return shares


def real_images(data, image_size=None, channels=None, n=2000):
    """Up to `n` real images (and labels) from the test split, else the train split (for data
    without a test split)."""
    for split in ("test", "train"):
        try:  # batches of one never drop a remainder, whatever the split's size
            source = load_dataset(
                data, image_size, batch_size=1, channels=channels, with_labels=True, split=split, shuffle=True, seed=0
            )
        except MissingSplitError:  # fall back to train; any other problem is the user's to see
            continue
        images, labels = next(iter(source.dataset.unbatch().batch(n)))
        return images.numpy(), labels.numpy()
    raise DataError(f"no labelled split of {data!r} to take real images from")
