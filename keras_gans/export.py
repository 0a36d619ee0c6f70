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
