"""Generators as TensorFlow SavedModels that need nothing but TensorFlow to run.

Each method says what it serves (`serving_signatures`: name -> tf.function with an input
signature) and which networks those functions use (`export_networks`); this module writes them.
"""

import os
import shutil
import tempfile

import tensorflow as tf


def images_to_uint8(images):
    """[-1, 1] floats to 0-255 bytes, inside a serving function."""
    images = tf.cast(images, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def uint8_to_images(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def export_generator(model, directory):
    """Writes the SavedModel to `directory`, replacing any earlier export only once the new one
    is complete."""
    module = tf.Module()
    module.networks = list(model.export_networks)
    signatures = model.serving_signatures()
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".export-")
    try:
        tf.saved_model.save(module, staging, signatures=signatures)
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


def find_saved_model(path):
    """A SavedModel folder, or a run folder's exported generator."""
    from keras_gans.errors import UsageError

    for candidate in (path, os.path.join(path, "export", "generator")):
        if os.path.exists(os.path.join(candidate, "saved_model.pb")):
            return candidate
    raise UsageError(f"{path} is neither a SavedModel nor a run folder with export/generator; "
                     "pass a finished run folder or its export/generator")


def sample_saved_model(path, n, seed=0, labels=None, batch_size=500):
    """`n` uint8 images from an exported noise-to-image generator (numpy, NHWC).

    Conditional generators take `labels` (one per sample); without them, classes cycle 0..K-1.
    """
    import numpy as np

    serve = tf.saved_model.load(find_saved_model(path)).signatures["serving_default"]
    inputs = serve.structured_input_signature[1]
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, inputs["z"].shape[-1])).astype("float32")
    if "label" in inputs and labels is None:
        labels = np.arange(n) % 10
    batches = []
    for start in range(0, n, batch_size):
        feed = {"z": tf.constant(z[start:start + batch_size])}
        if "label" in inputs:
            feed["label"] = tf.constant(np.asarray(labels[start:start + batch_size]), tf.int32)
        batches.append(serve(**feed)["images"].numpy())
    return np.concatenate(batches)


def load_translation(path, direction):
    """The `direction` signature (`a2b`, `b2a`) of an exported translation model and the image
    shape (H, W, C) it takes: uint8 `images` in, uint8 `images` out."""
    from keras_gans.errors import UsageError

    signatures = tf.saved_model.load(find_saved_model(path)).signatures
    if direction not in signatures:
        raise UsageError(f"{path} has no {direction!r} signature, only {', '.join(signatures)}; "
                         "pass a translation model (CycleGAN) and one of its directions")
    serve = signatures[direction]
    return serve, tuple(serve.structured_input_signature[1]["images"].shape[1:])
