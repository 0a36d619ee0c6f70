"""Architecture builders: functional keras.Models that know nothing of training."""

from keras_gans.networks.conditional import (
    build_acgan_discriminator,
    build_conditional_critic,
    build_conditional_generator,
)
from keras_gans.networks.dcgan import build_dcgan_discriminator, build_dcgan_generator
from keras_gans.networks.mlp import build_mlp_discriminator, build_mlp_generator
from keras_gans.networks.patchgan import build_patchgan_discriminator
from keras_gans.networks.resnet import build_resnet_generator
from keras_gans.networks.style import build_style_encoder
from keras_gans.networks.unet import build_unet_generator

__all__ = [
    "build_acgan_discriminator",
    "build_conditional_critic",
    "build_conditional_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_patchgan_discriminator",
    "build_resnet_generator",
    "build_style_encoder",
    "build_unet_generator",
]
