"""Folders of image files: decoded with Pillow, which reads every format we accept, tells a corrupt
file apart from a good one, and composites palette / alpha transparency correctly."""

import concurrent.futures
import os
import struct
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from keras_gans.data import core
from keras_gans.data.core import DataError, Examples, MissingSplitError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
FOLDER_SPLITS = ("train", "all")
# What Pillow raises on truncated, corrupt or non-image files.
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)


def load_folder(path, split, image_size):
    """All images under `path`, recursively, as RGB centre crops of `image_size` (default: the first
    image's short side). Images sitting in two or more sub-folders, none at the top, are labelled by
    sub-folder (class names sorted); a flat folder has no labels. Unreadable files are skipped with a
    warning."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"folder '{path}' does not exist; pass an existing folder of images")
    if split not in FOLDER_SPLITS:
        raise MissingSplitError(f"folder '{path}' has no {split!r} split; pass the folder that holds that split")
    files = list_images(root)
    if not files:
        raise DataError(f"folder '{path}' holds no {'/'.join(IMAGE_EXTENSIONS)} files; pass a folder of images")
    labels, class_names = class_labels(root, files)
    size = image_size or _native_size(files, path)
    in_memory = core.fits_in_memory(len(files), size, 3)
    dataset, kept = (_decoded_in_memory if in_memory else _streamed)(files, labels, size)
    if kept == 0:
        raise _no_readable_image(path, len(files))
    if kept < len(files):
        skipped = len(files) - kept
        warnings.warn(f"skipped {skipped} unreadable image{'s' if skipped > 1 else ''} in {path}", stacklevel=2)
    return Examples(dataset, kept, 3, size, class_names, in_memory)


def list_images(root):
    """Image files under `root` in a stable order, each file once however many paths lead to it:
    a link to something the tree holds is skipped (the file is listed at its own place, under its
    own class), a link to elsewhere is followed once, and a link loop is never entered. Hidden
    files and folders (.git, ._x.png) are ignored."""
    own_place = {_identity(root): os.fspath(root)}
    for folder, subfolders, names in _visible_walk(root, followlinks=False):
        for name in subfolders + names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                own_place[_identity(path)] = path
    followed = set()

    def first_visit(path):
        key = _identity(path)
        if key in own_place:
            return own_place[key] == path
        if key in followed:
            return False
        followed.add(key)
        return True

    files = []
    for folder, subfolders, names in _visible_walk(root, followlinks=True):
        subfolders[:] = [name for name in subfolders if first_visit(os.path.join(folder, name))]
        files += [Path(folder, name) for name in names if first_visit(os.path.join(folder, name))]
    return files


def _visible_walk(root, followlinks):
    """os.walk over visible folders (sorted, pruned in place) with the visible image names."""
    for folder, subfolders, names in os.walk(root, followlinks=followlinks):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        yield (
            folder,
            subfolders,
            sorted(n for n in names if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)),
        )


def _identity(path):
    """What two paths to the same file or folder share (device and inode); a broken link has
    only its own path, and is listed to be reported unreadable."""
    try:
        stat = os.stat(path)
    except OSError:
        return os.fspath(path)
    return stat.st_dev, stat.st_ino


def class_labels(root, files):
    """int32 labels and sorted class names from top-level sub-folders, or (None, None) for a flat folder."""
    parts = [file.relative_to(root).parts for file in files]
    classes = [part[0] if len(part) > 1 else None for part in parts]
    names = sorted(set(classes) - {None})
    if None in classes or len(names) < 2:
        return None, None
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[name] for name in classes], np.int32), names


def read_image(path, size):
    """One file as uint8 RGB (size, size, 3): transparency composited on white, short side resized to
    `size`, centre-cropped. None when the file cannot be decoded."""
    return read_image_and_size(path, size)[0]


def read_image_and_size(path, size):
    """`read_image` and the file's own (width, height), for callers that report a resize; (None,
    None) when the file cannot be decoded."""
    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.fit(_on_white(image), (size, size), Image.Resampling.BILINEAR)), image.size
    except _UNREADABLE:
        return None, None


def _on_white(image):
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image.convert("RGB")


def _native_size(files, path):
    """The short side of the first readable image."""
    for file in files:
        try:
            with Image.open(file) as image:
                return min(image.size)
        except _UNREADABLE:
            continue
    raise _no_readable_image(path, len(files))


def _no_readable_image(path, count):
    return DataError(f"folder '{path}' has no readable image ({count} files failed); pass a folder of valid images")


def _decoded_in_memory(files, labels, size):
    """Decode everything up front, in parallel: small folders, and the exact count of unreadable files."""
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        images = list(pool.map(read_image, files, [size] * len(files)))
    keep = [i for i, image in enumerate(images) if image is not None]
    if not keep:
        return None, 0
    stacked = np.stack([images[i] for i in keep])
    kept_labels = _labels_or_unlabelled(labels, len(files))[keep]
    return tf.data.Dataset.from_tensor_slices((stacked, kept_labels)), len(keep)


def _streamed(files, labels, size):
    """Too big for memory: check file structure up front (fast, no pixel decoding), decode while
    iterating, and drop the rare file that still fails to decode."""
    keep = [i for i, file in enumerate(files) if _verifies(file)]
    if not keep:
        return None, 0
    paths = np.array([str(files[i]) for i in keep])
    kept_labels = _labels_or_unlabelled(labels, len(files))[keep]

    def decode(path):
        image = read_image(path.decode(), size)
        return (np.zeros((size, size, 3), np.uint8), False) if image is None else (image, True)

    def decode_tf(path, label):
        image, ok = tf.numpy_function(decode, [path], [tf.uint8, tf.bool], stateful=False)
        image.set_shape((size, size, 3))
        return image, label, ok

    dataset = (
        tf.data.Dataset.from_tensor_slices((paths, kept_labels))
        .map(decode_tf, num_parallel_calls=tf.data.AUTOTUNE)
        .filter(lambda image, label, ok: ok)
        .map(lambda image, label, ok: (image, label))
    )
    return dataset, len(keep)


def _verifies(file):
    try:
        with Image.open(file) as image:
            image.verify()
        return True
    except _UNREADABLE:
        return False


def _labels_or_unlabelled(labels, count):
    return np.full(count, -1, np.int32) if labels is None else labels
