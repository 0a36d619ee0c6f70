"""Reference classifiers: a small CNN trained once on a labelled dataset's real images, cached,
and used to score samples (keras_gans.metrics.classifier_scores).

Not Inception: no weights to download, seconds to train on a CPU, and its features know digits.
"""

import os
import pathlib
import sys
import time
import zipfile

import keras

from keras_gans.data import DataError, load_dataset
from keras_gans.data.core import MissingSplitError
from keras_gans.progress import duration, plural

# What loading a truncated, corrupt or foreign .keras file raises (keras says "File not found"
# for a file that is not a whole zip).
_UNREADABLE = (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile)


def cache_dir():
    root = os.environ.get("KERAS_GANS_CACHE") or pathlib.Path.home() / ".cache" / "keras_gans"
    return pathlib.Path(root) / "classifiers"


def build_classifier(image_shape, num_classes):
    """Two conv blocks, a 128-unit feature layer (named `features`) and logits."""
    images = keras.Input(image_shape)
    x = images
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.3)(keras.layers.Flatten()(x))
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(images, logits, name="reference_classifier")


def reference_classifier(data, image_size=None, channels=None, epochs=None, verbose=0):
    """The cached classifier for `data` at this size, trained on its train split if missing or unreadable."""
    train = load_dataset(data, image_size, batch_size=128, channels=channels, with_labels=True, split="train", seed=0)
    size, _, depth = train.image_shape
    path = cache_dir() / f"{data.replace('/', '_').replace(':', '_')}-{size}px-{depth}ch.keras"
    if path.exists():
        try:
            return keras.models.load_model(path)
        except _UNREADABLE:  # a cache is rebuilt, not a reason to fail until someone deletes it
            print(f"cached classifier {path} is truncated or corrupt; training it again", file=sys.stderr)
    classifier = build_classifier(train.image_shape, train.num_classes)
    classifier.compile(
        keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    # Small sets need more passes; about 60k images seen is plenty for these networks.
    epochs = epochs or max(2, min(25, 60_000 // train.num_examples))
    print(
        f"training a reference classifier of {data} at {size}px first ({plural(epochs, 'epoch')} over "
        f"{train.num_examples} images; once: it is cached in {path.parent})",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    classifier.fit(train.dataset, epochs=epochs, verbose=verbose, shuffle=False)  # data shuffles
    print(f"reference classifier trained in {duration(time.monotonic() - started)}", file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.keras")
    classifier.save(tmp)
    os.replace(tmp, path)
    return classifier


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
