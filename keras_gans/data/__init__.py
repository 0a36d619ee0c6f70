"""Image data for GAN training: every source yields float32 NHWC batches in [-1, 1].

Sources: the embedded `digits` / `digits-m` (scikit-learn, no download), TFDS datasets, folders of
image files, and unpaired domain pairs for translation. See `sources` for the pipeline order.
"""

from keras_gans.data.augment import AUGMENTATIONS
from keras_gans.data.core import DataError, ImageData
from keras_gans.data.embedded import make_digits_m
from keras_gans.data.sources import dataset_names, load_dataset, load_unpaired

__all__ = ["AUGMENTATIONS", "DataError", "ImageData", "dataset_names", "load_dataset", "load_unpaired", "make_digits_m"]
