"""The training algorithms, one keras.Model subclass per file."""

from keras_gans.methods.base import AdversarialModel, NoiseToImageModel
from keras_gans.methods.conditional import ACGAN, ConditionalGAN
from keras_gans.methods.cyclegan import CycleGAN, ImagePool
from keras_gans.methods.gan import GAN
from keras_gans.methods.wgan import WGAN, WGANGP

__all__ = ["ACGAN", "AdversarialModel", "ConditionalGAN", "CycleGAN", "GAN", "ImagePool",
           "NoiseToImageModel", "WGAN", "WGANGP"]
