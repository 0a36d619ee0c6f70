"""From a config to a compiled model: which networks, loss and optimizers each method uses.

`RECIPES` maps a CLI method name to its builder and its paper defaults. `build` is the Python
entry point: `keras_gans.build("dcgan", image_shape=(28, 28, 1))`.
"""

import dataclasses
from typing import Callable

import keras

from keras_gans import networks
from keras_gans.config import ConfigError, TrainConfig
from keras_gans.methods import GAN


@dataclasses.dataclass(frozen=True)
class Recipe:
    build: Callable               # (config, image_shape, num_classes) -> uncompiled model
    defaults: dict                # config values the method sets when nothing else does
    needs_labels: bool = False    # trains on (images, labels)
    unpaired: bool = False        # trains on (images_a, images_b)


GENERATORS = {"mlp": networks.build_mlp_generator, "dcgan": networks.build_dcgan_generator}
DISCRIMINATORS = {"mlp": networks.build_mlp_discriminator,
                  "dcgan": networks.build_dcgan_discriminator}
ADAM_DCGAN = {"optimizer": "adam", "g_lr": 2e-4, "d_lr": 2e-4, "beta_1": 0.5, "beta_2": 0.999}


def _network_kwargs(config, builder, kind):
    """Width options only for builders that take them (the MLP has fixed widths)."""
    kwargs = {}
    if builder in (networks.build_dcgan_generator, networks.build_dcgan_discriminator):
        kwargs["filters"] = config.g_filters if kind == "g" else config.d_filters
    return kwargs


def build_gan(config, image_shape, num_classes=None):
    try:
        make_g, make_d = GENERATORS[config.generator], DISCRIMINATORS[config.generator]
    except KeyError:
        raise ConfigError(f"generator {config.generator!r} is not one of "
                          f"{', '.join(GENERATORS)} for method {config.method!r}") from None
    generator = make_g(image_shape, latent_dim=config.latent_dim,
                       **_network_kwargs(config, make_g, "g"))
    discriminator = make_d(image_shape, **_network_kwargs(config, make_d, "d"))
    return GAN(generator, discriminator, latent_dim=config.latent_dim, loss=config.loss,
               ema_decay=config.ema_decay, seed=config.seed)


RECIPES = {
    "gan": Recipe(build_gan, {"generator": "mlp", "loss": "bce", **ADAM_DCGAN}),
    "dcgan": Recipe(build_gan, {"generator": "dcgan", "loss": "bce", **ADAM_DCGAN}),
    "lsgan": Recipe(build_gan, {"generator": "dcgan", "loss": "lsgan", **ADAM_DCGAN}),
}


def get_recipe(method):
    try:
        return RECIPES[method]
    except KeyError:
        raise ConfigError(
            f"unknown method {method!r}; choose one of {', '.join(RECIPES)}") from None


def with_method_defaults(config):
    """The config with every unset (None) key the method has a default for filled in."""
    recipe = get_recipe(config.method)
    filled = {key: value for key, value in recipe.defaults.items()
              if getattr(config, key) is None}
    return dataclasses.replace(config, **filled)


def make_optimizer(config, learning_rate):
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    raise ConfigError(f"optimizer {config.optimizer!r} is not one of adam, rmsprop")


def optimizers_for(model, config):
    """One optimizer per network: `g_*` settings for generators, `d_*` for discriminators."""
    return {name: make_optimizer(config, config.g_lr if name.startswith("g") else config.d_lr)
            for name in model.networks}


def build_from_config(config, image_shape, num_classes=None):
    """The compiled model a config describes. Call inside the strategy's scope."""
    config = with_method_defaults(config)
    model = get_recipe(config.method).build(config, tuple(image_shape), num_classes)
    model.compile(jit_compile=config.xla, **optimizers_for(model, config))
    return model


def build(method, image_shape, num_classes=None, compile=True, **options):
    """A model for `method` with the paper's settings; `options` are any TrainConfig keys.

    >>> gan = keras_gans.build("dcgan", image_shape=(28, 28, 1))
    """
    config = TrainConfig(method=method, **options)
    if compile:
        return build_from_config(config, image_shape, num_classes)
    config = with_method_defaults(config)
    return get_recipe(method).build(config, tuple(image_shape), num_classes)
