"""Generators as TensorFlow SavedModels that need nothing but TensorFlow to run.

Each method says what it serves (`exports()`: a folder name -> the networks, the serving
functions, each a tf.function with an input signature, and integer constants); this module
writes them.
"""

import dataclasses
import functools
import glob
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from keras_gans.checkpoint import file_mode
from keras_gans.errors import UsageError

EXPORT_PREFIX = ".export-"


class NonFiniteExport(ValueError):
    pass


def images_to_uint8(images):
    """[-1, 1] floats to 0-255 bytes, inside a serving function."""
    images = tf.cast(images, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def finite_noise(z):
    """`z` checked inside a serving function: NaN or inf noise would serve black images without
    a word."""
    return tf.debugging.assert_all_finite(z, "z holds NaN or inf; pass finite noise, e.g. standard normal draws")


def uint8_to_images(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def export_generator(model, directory):
    """Writes the model's generator SavedModel (its `exports()["generator"]`) to `directory`."""
    return export_saved_model(model.exports()["generator"], directory)


def export_saved_model(export, directory):
    """Writes one methods.base.Export to `directory`, replacing any earlier export only once the
    new one is complete. Networks with a NaN or inf weight are refused: they would serve black
    images without a word."""
    for network in export.networks:
        for variable in network.weights:
            if not np.all(np.isfinite(np.asarray(variable.numpy(), dtype="float64"))):
                raise NonFiniteExport(
                    f"{network.name}'s {variable.path} is not finite; not exported (the run diverged: "
                    "resume from its last good checkpoint with lower learning rates)"
                )
    module = tf.Module()
    module.networks = list(export.networks)
    for name, value in export.constants.items():  # e.g. the label range of a cGAN
        setattr(module, name, tf.Variable(value, trainable=False, dtype=tf.int32))
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=EXPORT_PREFIX)
    os.chmod(staging, file_mode(0o777))  # mkdtemp's 0700 would hide the export from a serving account
    try:
        tf.saved_model.save(module, staging, signatures=export.signatures)
        if os.path.exists(directory):
            retired = staging + "-old"
            os.replace(directory, retired)
            os.replace(staging, directory)
            shutil.rmtree(retired)
        else:
            os.replace(staging, directory)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
    return directory


def remove_export_leftovers(directory):
    """Deletes the staging folders a killed export leaves beside the exports."""
    for path in glob.glob(os.path.join(glob.escape(directory), f"{EXPORT_PREFIX}*")):
        shutil.rmtree(path, ignore_errors=True)


def find_saved_model(path):
    """A SavedModel folder, or a run folder's exported generator."""
    for candidate in (path, os.path.join(path, "export", "generator")):
        if os.path.exists(os.path.join(candidate, "saved_model.pb")):
            return candidate
    raise UsageError(
        f"{path} is neither a SavedModel nor a run folder with export/generator; "
        "pass a finished run folder or its export/generator"
    )


def load_saved_model(path):
    """`tf.saved_model.load` of a SavedModel or run folder, once per export and process: scoring
    one model asks it several questions. A new export at the same path is loaded anew."""
    path = os.path.abspath(find_saved_model(path))
    written = os.stat(os.path.join(path, "saved_model.pb"))
    return _load_once(path, written.st_ino, written.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load_once(path, inode, mtime_ns):
    return tf.saved_model.load(path)


@dataclasses.dataclass
class SavedModelInfo:
    """What an exported model serves: its signatures' names and, for a conditional generator,
    its number of classes."""

    path: str
    signatures: tuple
    num_classes: int | None


def saved_model_info(path):
    path = find_saved_model(path)
    loaded = load_saved_model(path)
    num_classes = int(loaded.num_classes.numpy()) if hasattr(loaded, "num_classes") else None
    return SavedModelInfo(path, tuple(loaded.signatures), num_classes)


def sample_saved_model(path, n, seed=0, labels=None, batch_size=500):
    """`n` uint8 images from an exported noise-to-image generator (numpy, NHWC).

    Conditional generators take `labels` (one per sample, or one for all); without them, classes
    take turns.
    """
    loaded = load_saved_model(path)
    serve = loaded.signatures["serving_default"]
    inputs = serve.structured_input_signature[1]
    if "z" not in inputs:
        raise UsageError(
            f"{path} is not a generator of noise (it takes {', '.join(inputs)}); "
            "pass a GAN's run, or use translate for a CycleGAN"
        )
    if "label" in inputs:
        num_classes = int(loaded.num_classes.numpy())
        labels = np.arange(n) % num_classes if labels is None else np.broadcast_to(np.asarray(labels, "int32"), (n,))
        if labels.min() < 0 or labels.max() >= num_classes:
            raise UsageError(f"labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    elif labels is not None:
        raise UsageError(f"{path} is not a conditional generator; drop --label")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, inputs["z"].shape[-1])).astype("float32")
    batches = []
    for start in range(0, n, batch_size):
        feed = {"z": tf.constant(z[start : start + batch_size])}
        if "label" in inputs:
            feed["label"] = tf.constant(labels[start : start + batch_size], tf.int32)
        batches.append(serve(**feed)["images"].numpy())
    return np.concatenate(batches)


def load_translation(path, direction):
    """The `direction` signature (`a2b`, `b2a`) of an exported translation model and the image
    shape (H, W, C) it takes: uint8 `images` in, uint8 `images` out."""
    signatures = load_saved_model(path).signatures
    if direction not in signatures:
        raise UsageError(
            f"{path} has no {direction!r} signature, only {', '.join(signatures)}; "
            "pass a translation model (CycleGAN) and one of its directions"
        )
    serve = signatures[direction]
    return serve, tuple(serve.structured_input_signature[1]["images"].shape[1:])
