"""Image data for GAN training: every source yields float32 NHWC batches in [-1, 1].

Sources: the embedded `digits` / `digits-m` (scikit-learn, no download), TFDS datasets, folders of
image files, and unpaired domain pairs for translation. See `sources` for the pipeline order, and
`checks` for what `fit` refuses of a user's own data and the conversions it names.
"""

from keras_gans.data.augment import AUGMENTATIONS
from keras_gans.data.checks import from_directory, images_only, rescale, step_batches
from keras_gans.data.core import DataError, ImageData
from keras_gans.data.embedded import make_digits_m
from keras_gans.data.sources import dataset_names, load_dataset, load_unpaired

__all__ = [
    "AUGMENTATIONS",
    "DataError",
    "ImageData",
    "dataset_names",
    "from_directory",
    "images_only",
    "load_dataset",
    "load_unpaired",
    "make_digits_m",
    "rescale",
    "step_batches",
]
