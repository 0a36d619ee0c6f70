"""keras-gans: GANs as keras.Models trained with plain `fit`."""

import os

# oneDNN kernels measured faster for these networks on CPU; must be set before TensorFlow loads.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from keras_gans.methods import GAN, AdversarialModel  # noqa: E402

__version__ = "0.1.0"
__all__ = ["GAN", "AdversarialModel"]
