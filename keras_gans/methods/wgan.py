"""Wasserstein GANs: WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017).

The GAN loop with the critic's loss E[f(fake)] - E[f(real)] and n_critic = 5 critic updates per
generator update, each on its own real batch; the critic is kept Lipschitz by weight clipping
(WGAN) or by a gradient penalty (WGAN-GP). Only the defaults differ from `gan.GAN`: metrics
`wasserstein` (the critic's estimate E[f(real)] - E[f(fake)]) and `gp` (the penalty before its
weight) come with the loss and the constraint.
"""

import dataclasses

import keras

from keras_gans import losses
from keras_gans.methods import registry
from keras_gans.methods.gan import GAN, GANOptions, build
from keras_gans.options import option


def wasserstein_loss():
    return option(
        "wasserstein",
        "bce (non-saturating), lsgan, hinge or wasserstein",
        "Arjovsky et al. 2017",
        choices=tuple(losses.ADVERSARIAL_LOSSES),
    )


def n_critic(default=5):
    return option(
        default, "critic updates per step, each on its own real batch (n_critic)", "Arjovsky et al. 2017", minimum=1
    )


@dataclasses.dataclass
class WGANOptions(GANOptions):
    adversarial_loss: str = wasserstein_loss()
    d_steps: int = n_critic()
    clip_value: float = option(
        0.01,
        "clip the critic's weights to +-this after each update (0: no clipping)",
        "Arjovsky et al. 2017",
        minimum=0,
    )
    optimizer: str = option(
        "rmsprop", "optimizer of every network", "Arjovsky et al. 2017", choices=("adam", "rmsprop"), stage="compile"
    )
    g_lr: float = option(5e-5, "learning rate of the generator", "Arjovsky et al. 2017", minimum=0, stage="compile")
    d_lr: float = option(5e-5, "learning rate of the critic", "Arjovsky et al. 2017", minimum=0, stage="compile")


@dataclasses.dataclass
class WGANGPOptions(GANOptions):
    adversarial_loss: str = wasserstein_loss()
    d_steps: int = n_critic()
    gp_weight: float = option(10.0, "weight of the gradient penalty (lambda)", "Gulrajani et al. 2017", minimum=0)
    g_lr: float = option(1e-4, "learning rate of the generator", "Gulrajani et al. 2017", minimum=0, stage="compile")
    d_lr: float = option(1e-4, "learning rate of the critic", "Gulrajani et al. 2017", minimum=0, stage="compile")
    beta_1: float = option(0.0, "Adam's first-moment decay", "Gulrajani et al. 2017", minimum=0, stage="compile")
    beta_2: float = option(0.9, "Adam's second-moment decay", "Gulrajani et al. 2017", minimum=0, stage="compile")


@keras.saving.register_keras_serializable(package="keras_gans")
class WGAN(GAN):
    """The GAN loop with WGAN's defaults: wasserstein loss, n_critic 5, clipping at 0.01,
    RMSProp 5e-5."""

    Options = WGANOptions


@keras.saving.register_keras_serializable(package="keras_gans")
class WGANGP(GAN):
    """The GAN loop with WGAN-GP's defaults: wasserstein loss, n_critic 5, penalty weight 10,
    Adam(1e-4, 0, 0.9). The critic must not use BatchNorm: the penalty is per sample."""

    Options = WGANGPOptions


registry.register(
    "wgan", WGAN, WGANOptions, build(WGAN), "WGAN: critic with clipped weights, n_critic updates per generator update"
)
registry.register(
    "wgan-gp",
    WGANGP,
    WGANGPOptions,
    build(WGANGP),
    "WGAN-GP: critic with a gradient penalty, n_critic updates per generator update",
)
