"""The training algorithms. Each module declares its options and registers its methods; importing
it here is all that adding a method takes outside its own files."""

from keras_gans.methods import conditional, extended_cyclegan, gan, sgan, wgan  # noqa: F401 (registers)
from keras_gans.methods.base import AdversarialModel, Player
from keras_gans.methods.conditional import ACGAN, ConditionalGAN
from keras_gans.methods.cyclegan import CycleGAN, ImagePool
from keras_gans.methods.extended_cyclegan import ExtendedCycleGAN
from keras_gans.methods.gan import GAN
from keras_gans.methods.registry import METHODS, build, get_method
from keras_gans.methods.self_conditioned import SelfConditionedGAN
from keras_gans.methods.sgan import LabelKeepingCycleGAN, SemiSupervisedGAN
from keras_gans.methods.wgan import WGAN, WGANGP

__all__ = [
    "ACGAN",
    "AdversarialModel",
    "ConditionalGAN",
    "CycleGAN",
    "ExtendedCycleGAN",
    "GAN",
    "ImagePool",
    "LabelKeepingCycleGAN",
    "METHODS",
    "Player",
    "SelfConditionedGAN",
    "SemiSupervisedGAN",
    "WGAN",
    "WGANGP",
    "build",
    "get_method",
]
