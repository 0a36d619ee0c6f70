"""keras-gans: GANs as keras.Models trained with plain `fit`."""

import os

# oneDNN kernels measured faster for these networks on CPU; must be set before TensorFlow loads.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from keras_gans import callbacks, data, losses, metrics, networks  # noqa: E402
from keras_gans.export import export_generator  # noqa: E402
from keras_gans.methods import GAN, AdversarialModel, NoiseToImageModel  # noqa: E402
from keras_gans.recipes import build  # noqa: E402
from keras_gans.run import train  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "AdversarialModel", "GAN", "NoiseToImageModel", "build", "callbacks", "data",
    "export_generator", "losses", "metrics", "networks", "train",
]
