"""The training algorithms, one keras.Model subclass per file."""

from keras_gans.methods.base import AdversarialModel, NoiseToImageModel
from keras_gans.methods.gan import GAN

__all__ = ["AdversarialModel", "GAN", "NoiseToImageModel"]
